using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Router.Gateway.Streaming;

/// <summary>One whole WebSocket message read by <see cref="WebSocketMessages.ReceiveAsync(WebSocket, int, int, CancellationToken, int)"/>.</summary>
/// <param name="Kind">Text, binary, or <see cref="WebSocketMessageType.Close"/> when the peer closed.</param>
/// <param name="Buffer">Pooled buffer holding the message; call <see cref="Dispose"/> to return it.</param>
/// <param name="Length">Message length in bytes.</param>
/// <param name="TooBig">True when the message exceeded the limit (the rest was not read).</param>
internal readonly record struct ReceivedMessage(WebSocketMessageType Kind, byte[] Buffer, int Length, bool TooBig) : IDisposable
{
    public ReadOnlySpan<byte> Span => Buffer.AsSpan(0, Length);

    public void Dispose()
    {
        if (Buffer.Length > 0) ArrayPool<byte>.Shared.Return(Buffer);
    }
}

/// <summary>WebSocket helpers shared by the device and consumer endpoints.</summary>
internal static class WebSocketMessages
{
    private static readonly JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>
    /// Accepts the WebSocket upgrade with the gateway's keep-alive: a Ping after <see cref="GatewayOptions.PingInterval"/>
    /// without a frame from the client, and an abort when its Pong is not back within <see cref="GatewayOptions.PingTimeout"/>
    /// (the pending receive then fails, as when the client vanishes).
    /// </summary>
    public static Task<WebSocket> AcceptAsync(HttpContext context, GatewayOptions options) =>
        context.WebSockets.AcceptWebSocketAsync(AcceptContext(options));

    /// <summary>The accept settings for <paramref name="options"/> (see <see cref="AcceptAsync"/>).</summary>
    public static WebSocketAcceptContext AcceptContext(GatewayOptions options) => new()
    {
        KeepAliveInterval = options.PingInterval,
        KeepAliveTimeout = options.PingTimeout > TimeSpan.Zero ? options.PingTimeout : Timeout.InfiniteTimeSpan,
    };

    /// <summary>Reads one whole message of at most <paramref name="maxBytes"/> bytes into a pooled buffer.</summary>
    public static Task<ReceivedMessage> ReceiveAsync(WebSocket ws, int maxBytes, CancellationToken ct) => ReceiveAsync(ws, maxBytes, maxBytes, ct);

    /// <summary>
    /// Reads one whole message into a pooled buffer: at most <paramref name="maxRawBytes"/> bytes for a binary message
    /// whose first byte is <see cref="Router.Protocol.RawFrameCodec.FrameType"/> (a raw frame), else at most
    /// <paramref name="maxBytes"/>; the limit is chosen as soon as the first byte is in.
    /// </summary>
    /// <param name="ws">The WebSocket to read from; one read at a time (as <see cref="WebSocket"/> requires).</param>
    /// <param name="maxBytes">Largest message in bytes, other than a raw frame.</param>
    /// <param name="maxRawBytes">Largest raw frame message in bytes.</param>
    /// <param name="ct">Cancels the read (the WebSocket is then aborted by .NET).</param>
    /// <param name="sizeHint">
    /// Expected length in bytes (e.g. the connection's previous message), 0 when unknown. The read starts in a 16 KiB
    /// buffer whatever the hint, so a connection waiting for its next message holds no more than that; a message that
    /// fills it grows the buffer at once to the hint plus a quarter (if larger than double), within the limit, instead of doubling
    /// from 16 KiB: a camera's 56 KB frames take one copy and fewer reads a frame instead of two and more.
    /// </param>
    public static async Task<ReceivedMessage> ReceiveAsync(WebSocket ws, int maxBytes, int maxRawBytes, CancellationToken ct, int sizeHint = 0)
    {
        var kind = WebSocketMessageType.Text;
        int Limit(int length, byte[] data) =>
            kind == WebSocketMessageType.Binary && length > 0 && data[0] == Router.Protocol.RawFrameCodec.FrameType ? maxRawBytes : maxBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var limit = Limit(length, buffer);
                    if (length > limit) return new ReceivedMessage(kind, buffer, length, true);
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(Math.Max(buffer.Length * 2, sizeHint + sizeHint / 4), limit + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var result = await ws.ReceiveAsync(buffer.AsMemory(length), ct);
                if (result.MessageType == WebSocketMessageType.Close)
                    return new ReceivedMessage(WebSocketMessageType.Close, buffer, 0, false);
                kind = result.MessageType;
                length += result.Count;
                if (length > Limit(length, buffer)) return new ReceivedMessage(result.MessageType, buffer, length, true);
                if (result.EndOfMessage) return new ReceivedMessage(result.MessageType, buffer, length, false);
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>
    /// Reads the first message of a connection, waiting at most <paramref name="window"/>. On time-out it closes with
    /// <paramref name="closeCode"/> and <paramref name="closeReason"/> and returns null. (A pending receive is not
    /// cancelled: cancelling it would abort the socket and lose the close code.)
    /// </summary>
    public static async Task<ReceivedMessage?> ReceiveFirstAsync(WebSocket ws, int maxBytes, TimeSpan window, int closeCode, string closeReason, CancellationToken ct)
    {
        var receive = ReceiveAsync(ws, maxBytes, ct);
        var winner = await Task.WhenAny(receive, Task.Delay(window, ct));
        if (winner == receive) return await receive;
        await CloseWhileReceivingAsync(ws, receive, closeCode, closeReason);
        return null;
    }

    /// <summary>
    /// Closes with a code while <paramref name="receive"/> is pending (allowed: one send alongside one receive), waits
    /// up to 2 s for the peer's close frame to end that receive, else aborts. Never throws.
    /// </summary>
    public static async Task CloseWhileReceivingAsync(WebSocket ws, Task<ReceivedMessage> receive, int closeCode, string closeReason)
    {
        try { await ws.CloseOutputAsync((WebSocketCloseStatus)closeCode, closeReason, CancellationToken.None); }
        catch (Exception e) when (e is WebSocketException or InvalidOperationException or ObjectDisposedException) { }
        if (await Task.WhenAny(receive, Task.Delay(TimeSpan.FromSeconds(2))) != receive) ws.Abort();
        try { (await receive).Dispose(); }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException) { }
    }

    /// <summary>Sends a JSON text message (snake_case property names).</summary>
    public static Task SendJsonAsync<T>(WebSocket ws, T message, CancellationToken ct) =>
        ws.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message, SnakeCase), WebSocketMessageType.Text, true, ct);

    /// <summary>Sends <c>{"type":"error","message":…}</c>.</summary>
    public static Task SendErrorAsync(WebSocket ws, string message, CancellationToken ct) =>
        SendJsonAsync(ws, new { type = "error", message }, ct);

    /// <summary>Closes with a code and reason, waiting at most 2 s for the peer's close frame; never throws.</summary>
    public static async Task CloseQuietlyAsync(WebSocket ws, int code, string reason)
    {
        if (ws.State is not (WebSocketState.Open or WebSocketState.CloseReceived)) return;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            // Close reasons are limited to 123 UTF-8 bytes by RFC 6455.
            var bytes = Encoding.UTF8.GetBytes(reason);
            if (bytes.Length > 123) reason = Encoding.UTF8.GetString(bytes, 0, 120);
            await ws.CloseAsync((WebSocketCloseStatus)code, reason, cts.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            ws.Abort();
        }
    }
}
