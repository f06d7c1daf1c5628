using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Router.Tests.EndToEnd;

/// <summary>One server-to-client WebSocket frame as it came off the wire: its parsed fields and its exact bytes.</summary>
public sealed record RawFrame(int Opcode, bool Fin, bool Masked, byte[] Payload, byte[] Wire);

/// <summary>
/// A WebSocket client over a bare TCP socket that shows the wire: whole frames with their exact bytes, no automatic
/// replies (no pong, no close echo), a receive buffer the test sizes, and bytes the test may pipeline behind the upgrade
/// request in the same write. For tests of what the gateway writes, not of a client library.
/// </summary>
public sealed class RawWsClient : IAsyncDisposable
{
    public const int Text = 0x1, Binary = 0x2, Close = 0x8, Ping = 0x9, Pong = 0xA;

    private readonly NetworkStream _stream;

    private RawWsClient(Socket socket, string head)
    {
        Socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        Head = head;
    }

    /// <summary>The TCP socket (e.g. to stop reading from it, or to find it in <c>/proc/net/tcp</c>).</summary>
    public Socket Socket { get; }

    /// <summary>The response head as read up to the first blank line (Latin-1), or what came instead of it.</summary>
    public string Head { get; }

    /// <summary>True when <see cref="Head"/> is a 101 Switching Protocols response.</summary>
    public bool Upgraded => Head.StartsWith("HTTP/1.1 101 ", StringComparison.Ordinal);

    /// <summary>
    /// Connects, writes the upgrade request (and <paramref name="pipelined"/> right behind it, in the same write) and
    /// reads the response head byte by byte, so no frame byte is consumed with it.
    /// </summary>
    /// <param name="receiveBufferBytes">SO_RCVBUF set before connecting (small: the server's sends block sooner).</param>
    public static async Task<RawWsClient> ConnectAsync(Uri httpBase, string pathAndQuery, int? receiveBufferBytes = null, byte[]? pipelined = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (receiveBufferBytes is { } size) socket.ReceiveBufferSize = size;
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(httpBase.Host, httpBase.Port, cts.Token);
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            var request = Encoding.ASCII.GetBytes(
                $"GET {pathAndQuery} HTTP/1.1\r\nHost: {httpBase.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n");
            var write = pipelined is null ? request : [.. request, .. pipelined];
            await socket.SendAsync(write, SocketFlags.None, cts.Token); // one send(2): loopback takes a few KB at once
            var head = new StringBuilder();
            var one = new byte[1];
            using var headTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                while (!(head.Length >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n') && head.Length < 1024 * 1024)
                {
                    if (await socket.ReceiveAsync(one, SocketFlags.None, headTimeout.Token) == 0) break;
                    head.Append((char)one[0]);
                }
            }
            catch (OperationCanceledException)
            {
                head.Append("[no more bytes within 10 s]"); // the test sees what came instead of a whole head
            }
            return new RawWsClient(socket, head.ToString());
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>One final, masked client frame (RFC 6455 §5.2), as bytes.</summary>
    public static byte[] ClientFrame(int opcode, byte[] payload)
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
        return [.. header, .. payload.Select((b, i) => (byte)(b ^ mask[i % 4]))];
    }

    /// <summary>A close frame's payload: the code, then the UTF-8 reason.</summary>
    public static byte[] ClosePayload(int code, string reason) => [(byte)(code >> 8), (byte)code, .. Encoding.UTF8.GetBytes(reason)];

    /// <summary>(code, reason) of a close frame's payload.</summary>
    public static (int Code, string Reason) ReadClose(RawFrame close) =>
        (BinaryPrimitives.ReadUInt16BigEndian(close.Payload), Encoding.UTF8.GetString(close.Payload.AsSpan(2)));

    public async Task SendAsync(int opcode, byte[] payload) => await _stream.WriteAsync(ClientFrame(opcode, payload));

    /// <summary>The next whole frame, or null when the server closed or reset the TCP connection (or it timed out: see <paramref name="timeout"/>).</summary>
    public async Task<RawFrame?> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        try
        {
            var head = new byte[2];
            await _stream.ReadExactlyAsync(head, cts.Token);
            var wire = new List<byte>(head);
            long length = head[1] & 0x7F;
            if (length >= 126)
            {
                var ext = new byte[length == 126 ? 2 : 8];
                await _stream.ReadExactlyAsync(ext, cts.Token);
                wire.AddRange(ext);
                length = ext.Length == 2 ? BinaryPrimitives.ReadUInt16BigEndian(ext) : BinaryPrimitives.ReadInt64BigEndian(ext);
            }
            var masked = (head[1] & 0x80) != 0;
            var mask = new byte[masked ? 4 : 0];
            await _stream.ReadExactlyAsync(mask, cts.Token);
            wire.AddRange(mask);
            if (length > 64 * 1024 * 1024) throw new InvalidDataException($"frame of {length} bytes");
            var payload = new byte[length];
            await _stream.ReadExactlyAsync(payload, cts.Token);
            wire.AddRange(payload);
            for (var i = 0; masked && i < payload.Length; i++) payload[i] ^= mask[i % 4];
            return new RawFrame(head[0] & 0x0F, (head[0] & 0x80) != 0, masked, payload, [.. wire]);
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or SocketException)
        {
            return null;
        }
    }

    /// <summary>
    /// Reads and discards everything until the server ends the TCP connection (FIN or reset); returns the bytes read,
    /// or throws <see cref="TimeoutException"/> when it is still open after <paramref name="timeout"/>.
    /// </summary>
    public async Task<long> DrainToEndAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[64 * 1024];
        long total = 0;
        try
        {
            int read;
            while ((read = await Socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0) total += read;
        }
        catch (SocketException) { } // reset: ended too
        catch (OperationCanceledException) { throw new TimeoutException($"the server kept the connection open for {timeout} ({total} bytes read)"); }
        return total;
    }

    public ValueTask DisposeAsync()
    {
        _stream.Dispose();
        return ValueTask.CompletedTask;
    }
}
