using System.Buffers.Binary;
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

    private const int Text = RawWsClient.Text, Close = RawWsClient.Close, Ping = RawWsClient.Ping, Pong = RawWsClient.Pong;

    /// <summary>Opens the socket and authenticates; returns it after the server's first text message (init/authenticated).</summary>
    private async Task<RawWsClient> OpenAsync(string endpoint)
    {
        var ws = await RawWsClient.ConnectAsync(host.Router.HttpBase, endpoint == "device" ? "/ws/device" : "/v1/sources/keepalive/video/stream");
        Assert.True(ws.Upgraded, ws.Head);
        object auth = endpoint == "device"
            ? new { type = "device_auth", api_key = RouterHost.AcmeKey, source_id = "keepalive" }
            : new { type = "auth", api_key = RouterHost.AcmeKey };
        await ws.SendAsync(Text, JsonSerializer.SerializeToUtf8Bytes(auth));
        var first = await ws.ReceiveAsync();
        Assert.True(first is { Opcode: Text }, $"expected the server's first text message, got {first?.Opcode}");
        var type = JsonDocument.Parse(first!.Payload).RootElement.GetProperty("type").GetString();
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
        RawFrame? next;
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
            if (frame.Opcode != Ping) continue;
            await ws.SendAsync(Pong, frame.Payload);
            pings++;
        }
        // Still open: a close handshake completes normally.
        await ws.SendAsync(Close, [0x03, 0xE8]);
        RawFrame? reply;
        while ((reply = await ws.ReceiveAsync()) is { Opcode: Ping } ping) await ws.SendAsync(Pong, ping.Payload);
        Assert.True(reply is { Opcode: Close }, $"expected the server's close, got {reply?.Opcode}");
        Assert.Equal(1000, BinaryPrimitives.ReadUInt16BigEndian(reply!.Payload));
    }
}
