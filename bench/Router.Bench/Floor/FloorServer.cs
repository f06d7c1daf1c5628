using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using Router.Protocol;

namespace Router.Bench.Floor;

/// <summary>
/// The floor: a bare Kestrel WebSocket broadcaster with Router's wire protocols and nothing else (no actors, no streams,
/// no JPEG validation). <c>/ws/device</c> takes <c>device_auth</c> then binary frames; each frame is encoded once per
/// format (binary layout; Plexus JSON only when a JSON consumer exists) and offered to every consumer of its camera.
/// Each consumer has one send in flight at most and one pending frame that a newer frame replaces (latest wins), so a
/// slow consumer holds at most two frames, like Router's design. Run as <c>Router.Bench --serve-floor --port N</c> with
/// the API key in <c>FLOOR_API_KEY</c>.
/// </summary>
internal static class FloorServer
{
    public static async Task<int> RunAsync(int port, CancellationToken ct)
    {
        var apiKey = Environment.GetEnvironmentVariable("FLOOR_API_KEY") ?? string.Empty;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        var hub = new Hub();
        app.MapGet("/readyz", () => "ok");
        app.Map("/ws/device", context => DeviceAsync(context, hub, apiKey));
        app.Map("/v1/sources/{sourceId}/video/stream", context => ConsumerAsync(context, hub, apiKey));
        await app.RunAsync(ct);
        return 0;
    }

    private static async Task DeviceAsync(HttpContext context, Hub hub, string apiKey)
    {
        if (!context.WebSockets.IsWebSocketRequest) { context.Response.StatusCode = 400; return; }
        using var ws = await context.WebSockets.AcceptWebSocketAsync();
        var ct = context.RequestAborted;
        var buffer = new byte[1024 * 1024];
        try
        {
            var (kind, len) = await ReceiveAsync(ws, buffer, ct);
            if (kind != WebSocketMessageType.Text) return;
            string? sourceId;
            using (var doc = JsonDocument.Parse(buffer.AsMemory(0, len)))
            {
                var root = doc.RootElement;
                sourceId = root.TryGetProperty("source_id", out var s) ? s.GetString() : null;
                if (root.GetProperty("type").GetString() != "device_auth" || root.GetProperty("api_key").GetString() != apiKey || string.IsNullOrEmpty(sourceId))
                {
                    await ws.SendAsync("{\"type\":\"error\",\"message\":\"invalid api key\"}"u8.ToArray(), WebSocketMessageType.Text, true, ct);
                    await ws.CloseOutputAsync((WebSocketCloseStatus)1008, "invalid api key", ct);
                    return;
                }
            }
            await ws.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new
            {
                type = "authenticated",
                source_id = sourceId,
                server_time_ms = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            }), WebSocketMessageType.Text, true, ct);
            while (true)
            {
                (kind, len) = await ReceiveAsync(ws, buffer, ct);
                if (kind == WebSocketMessageType.Close) return;
                if (kind != WebSocketMessageType.Binary) continue;
                if (!BinaryFrameCodec.TryDecode(buffer.AsSpan(0, len), out var frame, out var offset, out _))
                    continue;
                var cameraId = string.IsNullOrEmpty(frame.CameraId) ? Identifiers.DefaultCameraId : frame.CameraId;
                hub.Publish(sourceId, cameraId, buffer.AsSpan(offset, len - offset), frame.Width, frame.Height, frame.TimestampMs);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or JsonException or KeyNotFoundException or InvalidOperationException) { }
    }

    private static async Task ConsumerAsync(HttpContext context, Hub hub, string apiKey)
    {
        var sourceId = (string)context.Request.RouteValues["sourceId"]!;
        var cameras = context.Request.Query["camera_id"].Where(c => !string.IsNullOrEmpty(c)).Select(c => c!).Distinct().ToList();
        var format = context.Request.Query["format"].ToString() switch { "binary" => Format.Binary, "jpeg" => Format.Jpeg, _ => Format.Json };
        if (!context.WebSockets.IsWebSocketRequest || cameras.Count == 0) { context.Response.StatusCode = 400; return; }
        using var ws = await context.WebSockets.AcceptWebSocketAsync();
        var ct = context.RequestAborted;
        var small = new byte[16 * 1024];
        FloorConsumer? consumer = null;
        try
        {
            var (kind, len) = await ReceiveAsync(ws, small, ct);
            var authorized = false;
            if (kind == WebSocketMessageType.Text)
            {
                using var doc = JsonDocument.Parse(small.AsMemory(0, len));
                authorized = doc.RootElement.TryGetProperty("type", out var t) && t.GetString() == "auth" &&
                             doc.RootElement.TryGetProperty("api_key", out var k) && k.GetString() == apiKey;
            }
            if (!authorized)
            {
                await ws.CloseOutputAsync((WebSocketCloseStatus)4001, "unauthorized", ct);
                return;
            }
            await ws.SendAsync(hub.InitMessage(sourceId), WebSocketMessageType.Text, true, ct);
            consumer = new FloorConsumer(ws, format);
            foreach (var camera in cameras) hub.Add(sourceId, camera, consumer);
            // Read (and ignore) until the client closes.
            while (true)
            {
                (kind, _) = await ReceiveAsync(ws, small, ct);
                if (kind == WebSocketMessageType.Close) break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or JsonException or InvalidOperationException) { }
        finally
        {
            if (consumer is not null) foreach (var camera in cameras) hub.Remove(sourceId, camera, consumer);
        }
    }

    private static async Task<(WebSocketMessageType Kind, int Length)> ReceiveAsync(WebSocket ws, byte[] buffer, CancellationToken ct)
    {
        var len = 0;
        while (true)
        {
            if (len == buffer.Length) throw new InvalidOperationException("message too big");
            var r = await ws.ReceiveAsync(buffer.AsMemory(len), ct);
            if (r.MessageType == WebSocketMessageType.Close) return (r.MessageType, 0);
            len += r.Count;
            if (r.EndOfMessage) return (r.MessageType, len);
        }
    }

    private enum Format { Json, Binary, Jpeg }

    /// <summary>One frame, encoded once per format in use.</summary>
    private sealed class FloorFrame(byte[] binary, int jpegOffset, byte[]? json)
    {
        public ReadOnlyMemory<byte> Binary { get; } = binary;

        public ReadOnlyMemory<byte> Jpeg { get; } = binary.AsMemory(jpegOffset);

        public ReadOnlyMemory<byte> Json { get; } = json;
    }

    private sealed class Topic
    {
        public volatile FloorConsumer[] Consumers = [];
        public int JsonConsumers;
    }

    private sealed class Hub
    {
        private readonly ConcurrentDictionary<(string Source, string Camera), Topic> _topics = new();
        private readonly Lock _lock = new();

        public void Publish(string sourceId, string cameraId, ReadOnlySpan<byte> jpeg, int width, int height, long ts)
        {
            var topic = _topics.GetOrAdd((sourceId, cameraId), _ => new Topic());
            var consumers = topic.Consumers;
            if (consumers.Length == 0) return;
            var header = BinaryFrameCodec.HeaderLength(sourceId, cameraId);
            var binary = BinaryFrameCodec.Encode(new BinaryFrameHeader(sourceId, cameraId, width, height, ts), jpeg);
            var json = Volatile.Read(ref topic.JsonConsumers) > 0 ? PlexusJson.BuildVideoFrame(sourceId, cameraId, jpeg, width, height, ts) : null;
            var frame = new FloorFrame(binary, header, json);
            foreach (var c in consumers) c.Offer(frame);
        }

        public void Add(string sourceId, string cameraId, FloorConsumer consumer)
        {
            lock (_lock)
            {
                var topic = _topics.GetOrAdd((sourceId, cameraId), _ => new Topic());
                topic.Consumers = [.. topic.Consumers, consumer];
                if (consumer.Format == Format.Json) topic.JsonConsumers++;
            }
        }

        public void Remove(string sourceId, string cameraId, FloorConsumer consumer)
        {
            lock (_lock)
            {
                if (!_topics.TryGetValue((sourceId, cameraId), out var topic)) return;
                topic.Consumers = topic.Consumers.Where(c => c != consumer).ToArray();
                if (consumer.Format == Format.Json) topic.JsonConsumers--;
            }
        }

        public byte[] InitMessage(string sourceId)
        {
            var cameras = _topics.Keys.Where(k => k.Source == sourceId).Select(k => new { camera_id = k.Camera, video_type = "normal" }).ToList();
            var sources = cameras.Count == 0 ? [] : new[] { new { source_id = sourceId, platform = "router-bench", cameras } };
            return JsonSerializer.SerializeToUtf8Bytes(new { type = "init", online_sources = sources });
        }
    }

    /// <summary>One consumer: a single send in flight, one pending frame, a newer frame replaces the pending one.</summary>
    private sealed class FloorConsumer(WebSocket ws, Format format)
    {
        private readonly Lock _lock = new();
        private FloorFrame? _pending;
        private bool _sending;

        public Format Format { get; } = format;

        public void Offer(FloorFrame frame)
        {
            lock (_lock)
            {
                if (_sending)
                {
                    _pending = frame;
                    return;
                }
                _sending = true;
            }
            _ = SendLoopAsync(frame);
        }

        private async Task SendLoopAsync(FloorFrame frame)
        {
            try
            {
                while (true)
                {
                    var (payload, type) = Format switch
                    {
                        Format.Json => (frame.Json, WebSocketMessageType.Text),
                        Format.Binary => (frame.Binary, WebSocketMessageType.Binary),
                        _ => (frame.Jpeg, WebSocketMessageType.Binary),
                    };
                    if (!payload.IsEmpty) await ws.SendAsync(payload, type, true, CancellationToken.None);
                    lock (_lock)
                    {
                        if (_pending is null)
                        {
                            _sending = false;
                            return;
                        }
                        frame = _pending;
                        _pending = null;
                    }
                }
            }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException or IOException)
            {
                // Consumer gone; its handler removes it. Keep _sending set so nothing else is started.
            }
        }
    }
}
