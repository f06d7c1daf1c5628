using System.Net.WebSockets;
using Microsoft.Extensions.Options;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Actors.Protocol;
using Router.Gateway.Security;
using Router.Gateway.Streaming;

namespace Router.Gateway.Ingest;

/// <summary>
/// <c>GET /ws/device</c>: the Plexus device WebSocket (wire-compatible with the Plexus Python SDK).
/// The first text message must be <c>{"type":"device_auth","api_key","source_id","platform","agent_version"}</c>
/// within the auth window; the reply is <c>{"type":"authenticated","source_id","server_time_ms"}</c>, a bad key gets
/// <c>{"type":"error"}</c> and close 1008. Then each frame is one binary message (<see cref="BinaryFrameCodec"/>
/// layout) or the JSON text form <c>{"type":"video_frame","camera_id","frame":&lt;base64&gt;,...}</c>. A message over
/// the limit closes with 1009; a rejected frame gets <c>{"type":"error"}</c> and the connection stays open.
/// </summary>
internal sealed class DeviceWebSocketEndpoint(
    ApiKeyStore keys,
    FrameIngestor ingestor,
    IOptions<GatewayOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<DeviceWebSocketEndpoint> logger)
{
    private const int GoingAway = 1001;

    private const int PolicyViolation = 1008;
    private const int MessageTooBig = 1009;

    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("WebSocket upgrade required");
            return;
        }
        var opts = options.Value;
        using var ws = await WebSocketMessages.AcceptAsync(context, opts);
        var ct = context.RequestAborted;
        try
        {
            var session = await AuthenticateAsync(ws, opts, ct);
            if (session is null) return;
            logger.LogInformation("Device {SourceId} of tenant {Tenant} connected ({Platform})", session.SourceId, session.Tenant, session.Platform);
            await ReceiveFramesAsync(ws, session, opts, ct);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // Client went away.
        }
        catch (Exception e)
        {
            logger.LogError(e, "Device connection failed");
            await WebSocketMessages.CloseQuietlyAsync(ws, (int)WebSocketCloseStatus.InternalServerError, "internal error");
        }
    }

    private async Task<DeviceSession?> AuthenticateAsync(WebSocket ws, GatewayOptions opts, CancellationToken ct)
    {
        var first = await WebSocketMessages.ReceiveFirstAsync(ws, 64 * 1024, opts.AuthTimeout, PolicyViolation, "authentication timeout", ct);
        if (first is not { } message) return null;
        using (message)
        {
            if (message.Kind == WebSocketMessageType.Close) return null;
            string? type = null, apiKey = null, sourceId = null, platform = null;
            if (message.Kind == WebSocketMessageType.Text && !message.TooBig)
                (type, apiKey, sourceId, platform) = DeviceMessageParser.ParseAuth(message.Span);
            if (type != "device_auth")
                return await FailAuthAsync(ws, "first message must be {\"type\":\"device_auth\",...}", ct);
            var identity = keys.Authenticate(apiKey);
            if (identity is null) return await FailAuthAsync(ws, "invalid api key", ct);
            if (!identity.Has(ApiScopes.Ingest)) return await FailAuthAsync(ws, "api key lacks the ingest scope", ct);
            if (!Identifiers.IsValidSourceId(sourceId, out var error)) return await FailAuthAsync(ws, error!, ct);
            await WebSocketMessages.SendJsonAsync(ws, new
            {
                type = "authenticated",
                source_id = sourceId,
                server_time_ms = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            }, ct);
            return new DeviceSession(identity.Tenant, sourceId!, platform);
        }
    }

    private static async Task<DeviceSession?> FailAuthAsync(WebSocket ws, string message, CancellationToken ct)
    {
        await WebSocketMessages.SendErrorAsync(ws, message, ct);
        await WebSocketMessages.CloseQuietlyAsync(ws, PolicyViolation, message);
        return null;
    }

    private async Task ReceiveFramesAsync(WebSocket ws, DeviceSession session, GatewayOptions opts, CancellationToken ct)
    {
        // When the gateway shuts down (SIGTERM), close with 1001 at once so the device reconnects to another gateway.
        using var stoppingScope = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping); // unregistered on dispose
        var stopping = Task.Delay(Timeout.Infinite, stoppingScope.Token);
        // Ingest is pipelined: up to MaxFramesInFlightPerDevice frames await their camera's verdict while the socket
        // keeps being read (a camera whose shard moves after a crash never blocks the device); each verdict is reported
        // as soon as it arrives. Sends (error messages, the close) take turns through one lock.
        using var sendLock = new SemaphoreSlim(1, 1);
        var inFlight = new Queue<(long StartedMs, Task Verdict)>(opts.MaxFramesInFlightPerDevice);
        var staleMs = (long)opts.FrameInFlightStaleAfter.TotalMilliseconds;
        var dropped = 0L;
        async Task SendErrorAsync(string error)
        {
            await sendLock.WaitAsync(ct);
            try { await WebSocketMessages.SendErrorAsync(ws, error, ct); }
            finally { sendLock.Release(); }
        }
        async Task CloseAsync(Func<Task> close)
        {
            var locked = await sendLock.WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None);
            try { await close(); }
            finally { if (locked) sendLock.Release(); }
        }
        async Task ReportVerdictAsync(Task<IRouterMessage> ingest)
        {
            try
            {
                var verdict = await ingest;
                if (verdict is FrameRejected rejected) await SendErrorAsync($"frame rejected ({rejected.Reason}): {rejected.Message}");
            }
            catch (Akka.Actor.AskTimeoutException)
            {
                try { await SendErrorAsync("frame not ingested: the camera did not answer in time"); }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException) { }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException) { }
        }

        while (ws.State == WebSocketState.Open)
        {
            var receive = WebSocketMessages.ReceiveAsync(ws, opts.MaxDeviceMessageBytes, ct);
            if (await Task.WhenAny(receive, stopping) == stopping)
            {
                await CloseAsync(() => WebSocketMessages.CloseWhileReceivingAsync(ws, receive, GoingAway, "server shutting down"));
                return;
            }
            using var message = await receive;
            if (message.Kind == WebSocketMessageType.Close)
            {
                await CloseAsync(() => WebSocketMessages.CloseQuietlyAsync(ws, (int)WebSocketCloseStatus.NormalClosure, "bye"));
                return;
            }
            if (message.TooBig)
            {
                await CloseAsync(() => WebSocketMessages.CloseQuietlyAsync(ws, MessageTooBig, $"message over {opts.MaxDeviceMessageBytes} bytes"));
                return;
            }
            var frame = message.Kind == WebSocketMessageType.Binary ? ParseBinary(message.Span) : ParseText(message.Span);
            if (frame.Error is not null)
            {
                await SendErrorAsync(frame.Error);
                continue;
            }
            if (frame.Jpeg is null) continue; // heartbeat or an unknown type: ignored
            var cameraId = string.IsNullOrEmpty(frame.CameraId) ? Identifiers.DefaultCameraId : frame.CameraId;
            if (!Identifiers.IsValidCameraId(cameraId, out var cameraError))
            {
                await SendErrorAsync(cameraError!);
                continue;
            }
            var now = Environment.TickCount64;
            while (inFlight.Count > 0 && (inFlight.Peek().Verdict.IsCompleted || now - inFlight.Peek().StartedMs > staleMs))
                inFlight.Dequeue();
            if (inFlight.Count >= opts.MaxFramesInFlightPerDevice)
            {
                if (dropped++ % 100 == 0)
                    logger.LogWarning("Device {SourceId} of tenant {Tenant}: {Dropped} frame(s) dropped, {InFlight} still unanswered",
                        session.SourceId, session.Tenant, dropped, inFlight.Count);
                continue;
            }
            var key = new StreamKey(session.Tenant, session.SourceId, cameraId);
            inFlight.Enqueue((now, ReportVerdictAsync(ingestor.IngestAsync(key, frame.Jpeg, frame.TimestampMs, session.Platform, ct))));
        }
    }

    private static ParsedFrame ParseBinary(ReadOnlySpan<byte> message) => DeviceMessageParser.ParseBinary(message);

    private static ParsedFrame ParseText(ReadOnlySpan<byte> message) => DeviceMessageParser.ParseText(message);

    private sealed record DeviceSession(string Tenant, string SourceId, string? Platform);
}
