using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Router.Protocol;
using Router.Tests.Support;

namespace Router.Tests.EndToEnd;

/// <summary>A received WebSocket message, or the close (then <see cref="CloseStatus"/> is set).</summary>
public sealed record WsMessage(WebSocketMessageType Type, byte[] Data, int? CloseStatus, string? CloseReason)
{
    public string Text => Encoding.UTF8.GetString(Data);

    public JsonElement Json => JsonDocument.Parse(Data).RootElement;
}

/// <summary>Thin test client over <see cref="ClientWebSocket"/> with timeouts on every receive.</summary>
public sealed class WsClient : IAsyncDisposable
{
    private readonly ClientWebSocket _ws = new();

    public WebSocketState State => _ws.State;

    public static async Task<WsClient> ConnectAsync(Uri uri)
    {
        var client = new WsClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client._ws.ConnectAsync(uri, cts.Token);
        return client;
    }

    public Task SendTextAsync(string text) => _ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>Sends raw bytes as a text message (which may be invalid UTF-8).</summary>
    public Task SendRawTextAsync(byte[] bytes) => _ws.SendAsync(bytes, WebSocketMessageType.Text, true, CancellationToken.None);

    public Task SendJsonAsync(object value) => _ws.SendAsync(JsonSerializer.SerializeToUtf8Bytes(value), WebSocketMessageType.Text, true, CancellationToken.None);

    public Task SendBinaryAsync(byte[] data) => _ws.SendAsync(data, WebSocketMessageType.Binary, true, CancellationToken.None);

    public async Task<WsMessage> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        while (true)
        {
            var result = await _ws.ReceiveAsync(chunk, cts.Token);
            if (result.MessageType == WebSocketMessageType.Close)
                return new WsMessage(WebSocketMessageType.Close, [], (int?)result.CloseStatus, result.CloseStatusDescription);
            buffer.Write(chunk, 0, result.Count);
            if (result.EndOfMessage) return new WsMessage(result.MessageType, buffer.ToArray(), null, null);
        }
    }

    /// <summary>Receives until a message satisfies <paramref name="match"/> (or the connection closes).</summary>
    public async Task<WsMessage> ReceiveUntilAsync(Func<WsMessage, bool> match, TimeSpan? timeout = null)
    {
        var deadline = WaitDeadline.In(timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var left = deadline.Remaining;
            if (left <= TimeSpan.Zero) throw new TimeoutException("no matching message");
            var m = await ReceiveAsync(left);
            if (m.CloseStatus is not null || match(m)) return m;
        }
    }

    public async Task<WsMessage> ReceiveCloseAsync(TimeSpan? timeout = null) => await ReceiveUntilAsync(_ => false, timeout);

    public async ValueTask DisposeAsync()
    {
        if (_ws.State == WebSocketState.Open)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or InvalidOperationException) { } // also a receive still pending
        }
        _ws.Dispose();
    }

    // --- protocol helpers -------------------------------------------------------------------------------

    /// <summary>Opens <c>/ws/device</c>, authenticates, and returns the client (asserting the reply).</summary>
    public static async Task<WsClient> DeviceAsync(IRouterEndpoint host, string key, string sourceId)
    {
        var device = await ConnectAsync(new Uri(host.WsBase, "/ws/device"));
        await device.SendJsonAsync(new { type = "device_auth", api_key = key, source_id = sourceId, platform = "linux-test", agent_version = "0.7.1" });
        var reply = (await device.ReceiveAsync()).Json;
        if (reply.GetProperty("type").GetString() != "authenticated") throw new InvalidOperationException($"device auth failed: {reply}");
        return device;
    }

    /// <summary>Opens the consumer stream, authenticates, and returns the client and the init message.</summary>
    public static async Task<(WsClient Client, JsonElement Init)> ConsumerAsync(IRouterEndpoint host, string key, string sourceId, string query = "")
    {
        var consumer = await ConnectAsync(new Uri(host.WsBase, $"/v1/sources/{sourceId}/video/stream{query}"));
        await consumer.SendJsonAsync(new { type = "auth", api_key = key });
        var init = await consumer.ReceiveAsync();
        if (init.CloseStatus is not null) throw new InvalidOperationException($"consumer closed {init.CloseStatus} {init.CloseReason}");
        return (consumer, init.Json);
    }

    public static byte[] BinaryFrame(string sourceId, string cameraId, byte[] jpeg, long timestampMs, int width = 0, int height = 0) =>
        BinaryFrameCodec.Encode(new BinaryFrameHeader(sourceId, cameraId, width, height, timestampMs), jpeg);
}
