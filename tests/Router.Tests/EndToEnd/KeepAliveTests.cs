using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Router.Tests.EndToEnd;

/// <summary>
/// WebSocket keep-alive on both gateway sockets: the server sends a real Ping (opcode 0x9) after PingInterval without
/// client traffic, keeps a client that answers with Pong, and aborts one that does not within PingTimeout. Uses a raw
/// TCP WebSocket client so the test controls whether Pongs are sent (every WebSocket library answers by itself).
/// </summary>
public sealed class KeepAliveTests(KeepAliveTests.Host host) : IClassFixture<KeepAliveTests.Host>
{
    /// <summary>A Router with a 1 s ping interval and a 1 s pong timeout.</summary>
    public sealed class Host() : IAsyncLifetime
    {
        public RouterHost Router { get; } = new(["--Router:Gateway:PingInterval=00:00:01", "--Router:Gateway:PingTimeout=00:00:01"]);

        public Task InitializeAsync() => Router.InitializeAsync();

        public Task DisposeAsync() => Router.DisposeAsync();
    }

    private const int Text = 0x1, Close = 0x8, Ping = 0x9, Pong = 0xA;

    /// <summary>Opens the socket and authenticates; returns it after the server's first text message (init/authenticated).</summary>
    private async Task<RawWebSocket> OpenAsync(string endpoint)
    {
        var ws = await RawWebSocket.ConnectAsync(host.Router.HttpBase, endpoint == "device" ? "/ws/device" : "/v1/sources/keepalive/video/stream");
        object auth = endpoint == "device"
            ? new { type = "device_auth", api_key = RouterHost.AcmeKey, source_id = "keepalive" }
            : new { type = "auth", api_key = RouterHost.AcmeKey };
        await ws.SendAsync(Text, JsonSerializer.SerializeToUtf8Bytes(auth));
        var first = await ws.ReceiveAsync();
        Assert.True(first is { Opcode: Text }, $"expected the server's first text message, got {first?.Opcode}");
        var type = JsonDocument.Parse(first!.Value.Payload).RootElement.GetProperty("type").GetString();
        Assert.Equal(endpoint == "device" ? "authenticated" : "init", type);
        return ws;
    }

    [Theory]
    [InlineData("device")]
    [InlineData("consumer")]
    public async Task A_peer_that_never_answers_the_ping_is_disconnected(string endpoint)
    {
        await using var ws = await OpenAsync(endpoint);
        var ping = await ws.ReceiveAsync();
        Assert.True(ping is { Opcode: Ping }, $"expected a Ping, got {ping?.Opcode}");
        // No Pong: within the 1 s timeout (+ the 1 s heartbeat) the server aborts the connection.
        (int Opcode, byte[] Payload)? next;
        while ((next = await ws.ReceiveAsync(TimeSpan.FromSeconds(15))) is { } frame)
            Assert.True(frame.Opcode == Ping, $"unexpected frame {frame.Opcode} before the disconnect");
    }

    [Theory]
    [InlineData("device")]
    [InlineData("consumer")]
    public async Task A_peer_that_answers_pings_stays_connected(string endpoint)
    {
        await using var ws = await OpenAsync(endpoint);
        for (var pings = 0; pings < 3;)
        {
            var frame = await ws.ReceiveAsync();
            Assert.True(frame is not null, "the server disconnected a peer that answers pings");
            if (frame.Value.Opcode != Ping) continue;
            await ws.SendAsync(Pong, frame.Value.Payload);
            pings++;
        }
        // Still open: a close handshake completes normally.
        await ws.SendAsync(Close, [0x03, 0xE8]);
        (int Opcode, byte[] Payload)? reply;
        while ((reply = await ws.ReceiveAsync()) is { Opcode: Ping } ping) await ws.SendAsync(Pong, ping.Payload);
        Assert.True(reply is { Opcode: Close }, $"expected the server's close, got {reply?.Opcode}");
        Assert.Equal(1000, BinaryPrimitives.ReadUInt16BigEndian(reply!.Value.Payload));
    }

    /// <summary>A minimal RFC 6455 client over a TCP socket: masked frames out, whole frames in, no automatic replies.</summary>
    private sealed class RawWebSocket : IAsyncDisposable
    {
        private readonly TcpClient _tcp;
        private readonly NetworkStream _stream;

        private RawWebSocket(TcpClient tcp)
        {
            _tcp = tcp;
            _stream = tcp.GetStream();
        }

        public static async Task<RawWebSocket> ConnectAsync(Uri httpBase, string path)
        {
            var tcp = new TcpClient();
            await tcp.ConnectAsync(httpBase.Host, httpBase.Port);
            var ws = new RawWebSocket(tcp);
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            await ws._stream.WriteAsync(Encoding.ASCII.GetBytes(
                $"GET {path} HTTP/1.1\r\nHost: {httpBase.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"));
            // Read the response head byte by byte, so no frame byte is consumed with it.
            var head = new StringBuilder();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var one = new byte[1];
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                await ws._stream.ReadExactlyAsync(one, cts.Token);
                head.Append((char)one[0]);
            }
            Assert.StartsWith("HTTP/1.1 101", head.ToString());
            return ws;
        }

        public async Task SendAsync(int opcode, byte[] payload)
        {
            var header = new List<byte> { (byte)(0x80 | opcode) };
            if (payload.Length < 126) header.Add((byte)(0x80 | payload.Length));
            else
            {
                header.Add(0x80 | 126);
                header.Add((byte)(payload.Length >> 8));
                header.Add((byte)payload.Length);
            }
            var mask = RandomNumberGenerator.GetBytes(4);
            header.AddRange(mask);
            var masked = payload.Select((b, i) => (byte)(b ^ mask[i % 4])).ToArray();
            await _stream.WriteAsync(header.Concat(masked).ToArray());
        }

        /// <summary>The next frame, or null when the server closed or reset the TCP connection.</summary>
        public async Task<(int Opcode, byte[] Payload)?> ReceiveAsync(TimeSpan? timeout = null)
        {
            using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
            try
            {
                var head = new byte[2];
                await _stream.ReadExactlyAsync(head, cts.Token);
                long length = head[1] & 0x7F;
                if (length == 126)
                {
                    var ext = new byte[2];
                    await _stream.ReadExactlyAsync(ext, cts.Token);
                    length = BinaryPrimitives.ReadUInt16BigEndian(ext);
                }
                else if (length == 127)
                {
                    var ext = new byte[8];
                    await _stream.ReadExactlyAsync(ext, cts.Token);
                    length = BinaryPrimitives.ReadInt64BigEndian(ext);
                }
                var payload = new byte[length];
                await _stream.ReadExactlyAsync(payload, cts.Token);
                return (head[0] & 0x0F, payload);
            }
            catch (Exception e) when (e is EndOfStreamException or IOException)
            {
                return null;
            }
        }

        public ValueTask DisposeAsync()
        {
            _tcp.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
