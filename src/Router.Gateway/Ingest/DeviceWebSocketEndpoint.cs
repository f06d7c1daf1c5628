using System.Net.WebSockets;
using Microsoft.Extensions.Options;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Gateway.Admission;
using Router.Gateway.Security;
using Router.Gateway.Streaming;
using Router.Protocol;

namespace Router.Gateway.Ingest;

/// <summary>
/// <c>GET /ws/device</c>: the Plexus device WebSocket (wire-compatible with the Plexus Python SDK).
/// The first text message must be <c>{"type":"device_auth","api_key","source_id","platform","agent_version"}</c>
/// within the auth window; the reply is <c>{"type":"authenticated","source_id","server_time_ms"}</c>, a bad key gets
/// <c>{"type":"error"}</c> and close 1008. Then each frame is one binary message (<see cref="BinaryFrameCodec"/>
/// layout) or the JSON text form <c>{"type":"video_frame","camera_id","frame":&lt;base64&gt;,...}</c>. A message over
/// the limit closes with 1009; a rejected frame gets <c>{"type":"error"}</c> and the connection stays open.
/// Admission (docs/api.md, "Limits"): an address with too many failed authentications gets HTTP 429 before the
/// upgrade; messages over <see cref="Admission.GatewayLimits.DeviceMessagesPerSecond"/> are dropped and answered with
/// <c>rate_limited</c> errors; flow control is per camera, newest frame wins (<see cref="Admission.CameraFlowControl{TFrame}"/>),
/// with replaced frames reported in <c>frames_dropped</c> warnings; frames over a tenant quota (online cameras, ingest
/// bytes/s) are refused with one <c>quota_exceeded</c> error per second.
/// </summary>
internal sealed class DeviceWebSocketEndpoint(
    ApiKeyStore keys,
    FrameIngestor ingestor,
    RawFrameEncoder rawEncoder,
    AuthFailureLimiter authFailures,
    IOptions<GatewayOptions> options,
    IOptions<Router.Actors.Camera.CameraOptions> cameraOptions,
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
        if (await authFailures.RefuseIfBlockedAsync(context)) return;
        var opts = options.Value;
        using var ws = await WebSocketMessages.AcceptAsync(context, opts);
        var ct = context.RequestAborted;
        try
        {
            var attempt = authFailures.BeginAttempt(context);
            var session = await AuthenticateAsync(ws, opts, ct);
            if (session is null)
            {
                attempt.Failed();
                return;
            }
            logger.LogInformation("Device {SourceId} of tenant {Tenant} connected ({Platform})", session.SourceId, session.Tenant, session.Platform);
            using var lease = keys.Track(session.Identity, ApiScopes.Ingest); // revoked: error + close 1008 "api key revoked"
            await ReceiveFramesAsync(ws, session, opts, lease.Revoked, ct);
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
            if (identity is null)
                return await FailAuthAsync(ws, ViewerTokens.LooksLikeToken(apiKey) ? "a viewer token cannot ingest: use an API key with the ingest scope" : "invalid api key", ct);
            if (!identity.Has(ApiScopes.Ingest)) return await FailAuthAsync(ws, "api key lacks the ingest scope", ct);
            if (!Identifiers.IsValidSourceId(sourceId, out var error)) return await FailAuthAsync(ws, error!, ct);
            await WebSocketMessages.SendJsonAsync(ws, new
            {
                type = "authenticated",
                source_id = sourceId,
                server_time_ms = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            }, ct);
            return new DeviceSession(identity.Tenant, sourceId!, platform, identity);
        }
    }

    private static async Task<DeviceSession?> FailAuthAsync(WebSocket ws, string message, CancellationToken ct)
    {
        AuthFailureLimiter.FailCurrent();
        await WebSocketMessages.SendErrorAsync(ws, message, ct);
        await WebSocketMessages.CloseQuietlyAsync(ws, PolicyViolation, message);
        return null;
    }

    private async Task ReceiveFramesAsync(WebSocket ws, DeviceSession session, GatewayOptions opts, CancellationToken keyRevoked, CancellationToken ct)
    {
        // When the gateway shuts down (SIGTERM), close with 1001 at once so the device reconnects to another gateway.
        using var stoppingScope = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping); // unregistered on dispose
        var stopping = Task.Delay(Timeout.Infinite, stoppingScope.Token);
        // When the key is removed from the keys file (ApiKeyStore.ReplaceFileKeys), tell the device why and close with 1008.
        using var revokedScope = CancellationTokenSource.CreateLinkedTokenSource(keyRevoked);
        var revoked = Task.Delay(Timeout.Infinite, revokedScope.Token);
        // Flow control per camera, newest frame wins (CameraFlowControl): each camera has one frame awaiting its
        // verdict and one waiting, so a device with many cameras keeps every camera at its rate and a camera whose
        // shard moves never blocks the others. Each verdict is reported as soon as it arrives. Sends (error and warning
        // messages, the close) take turns through one lock.
        using var sendLock = new SemaphoreSlim(1, 1);
        var limits = opts.Limits;
        async Task SendJsonAsync(object reply)
        {
            await sendLock.WaitAsync(ct);
            try { await WebSocketMessages.SendJsonAsync(ws, reply, ct); }
            finally { sendLock.Release(); }
        }
        Task SendErrorAsync(string error) => SendJsonAsync(new { type = "error", message = error });
        async Task CloseAsync(Func<Task> close)
        {
            var locked = await sendLock.WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None);
            try { await close(); }
            finally { if (locked) sendLock.Release(); }
        }
        var overQuota = new NoticeThrottle(1000); // verdicts complete on the thread pool: used under its own lock
        async Task ReportVerdictAsync(Task<IRouterMessage> ingest)
        {
            try
            {
                var verdict = await ingest;
                if (verdict is FrameRejected { Reason: FrameRejectReason.OnlineCamerasQuota or FrameRejectReason.IngestBytesQuota } quota)
                {
                    long refused;
                    bool due;
                    lock (overQuota)
                    {
                        overQuota.Add();
                        due = overQuota.TryTake(Environment.TickCount64, out refused);
                    }
                    if (due)
                        await SendJsonAsync(new
                        {
                            type = "error", code = "quota_exceeded", quota = HttpIngestEndpoint.QuotaOf(quota.Reason), dropped = refused,
                            message = $"{quota.Message}; {refused} frame(s) refused",
                        });
                }
                else if (verdict is FrameRejected rejected) await SendErrorAsync($"frame rejected ({rejected.Reason}): {rejected.Message}");
            }
            catch (Akka.Actor.AskTimeoutException)
            {
                try { await SendErrorAsync("frame not ingested: the camera did not answer in time"); }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException) { }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException) { }
        }
        // Raw frames (type 0x02) are encoded to JPEG here, as part of their camera's frame in flight, so a camera sending
        // faster than the gateway encodes loses its own older frames (RawFrameEncoder has the gateway's bounds).
        long rawReplaced = 0;
        async Task EncodeAndIngestAsync(string cameraId, ParsedFrame frame)
        {
            var key = new StreamKey(session.Tenant, session.SourceId, cameraId);
            var raw = frame.Raw!;
            var encoded = await rawEncoder.EncodeAsync(key, raw);
            try
            {
                switch (encoded.Status)
                {
                    case RawEncodeStatus.Encoded:
                        await ReportVerdictAsync(ingestor.IngestAsync(key, encoded.Jpeg!, frame.TimestampMs, session.Platform, ct));
                        return;
                    case RawEncodeStatus.Replaced:
                        Interlocked.Increment(ref rawReplaced); // reported in the next frames_dropped warning
                        AdmissionMetrics.FramesDropped(session.Tenant, 1);
                        return;
                    case RawEncodeStatus.Failed:
                        await SendErrorAsync($"frame rejected (Undecodable): {encoded.Message}");
                        return;
                    default:
                        await SendErrorAsync($"frame rejected (Busy): {encoded.Message}");
                        return;
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException) { }
        }
        using var flow = new CameraFlowControl<ParsedFrame>(Math.Max(1, limits.MaxCamerasPerDevice), (long)opts.FrameInFlightStaleAfter.TotalMilliseconds,
            (cameraId, frame) => frame.Raw is not null
                ? EncodeAndIngestAsync(cameraId, frame)
                : ReportVerdictAsync(ingestor.IngestAsync(new StreamKey(session.Tenant, session.SourceId, cameraId),
                    frame.Jpeg!, frame.TimestampMs, session.Platform, ct)));
        var maxPixels = cameraOptions.Value.SizePolicy.MaxPixels;
        // Messages over the rate are answered with one rate_limited error per second (counting them), frames replaced
        // by newer ones with one frames_dropped warning per DropNoticeInterval: reported, never silent, never a flood.
        using var rate = new System.Threading.RateLimiting.TokenBucketRateLimiter(IngestAdmission.PerSecond(limits.DeviceMessagesPerSecond));
        var rateLimited = new NoticeThrottle(1000);
        var tooManyCameras = new NoticeThrottle(1000);
        var dropped = new NoticeThrottle((long)limits.DropNoticeInterval.TotalMilliseconds);
        var lastLength = 0;
        while (ws.State == WebSocketState.Open)
        {
            var receive = WebSocketMessages.ReceiveAsync(ws, opts.MaxDeviceMessageBytes, opts.RawIngest.MaxMessageBytes, ct, lastLength);
            var first = await Task.WhenAny(receive, stopping, revoked);
            if (first == stopping)
            {
                await CloseAsync(() => WebSocketMessages.CloseWhileReceivingAsync(ws, receive, GoingAway, "server shutting down"));
                return;
            }
            if (first == revoked)
            {
                logger.LogInformation("Device {SourceId} of tenant {Tenant} closed: {Reason}", session.SourceId, session.Tenant, ApiKeyStore.RevokedReason);
                ApiKeyMetrics.ConnectionClosed(session.Tenant, "device");
                try { await SendErrorAsync(ApiKeyStore.RevokedReason); }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException) { }
                await CloseAsync(() => WebSocketMessages.CloseWhileReceivingAsync(ws, receive, PolicyViolation, ApiKeyStore.RevokedReason));
                return;
            }
            using var message = await receive;
            lastLength = message.Length; // the next message's size hint: a camera's frames are of about the same size
            if (message.Kind == WebSocketMessageType.Close)
            {
                await CloseAsync(() => WebSocketMessages.CloseQuietlyAsync(ws, (int)WebSocketCloseStatus.NormalClosure, "bye"));
                return;
            }
            if (message.TooBig)
            {
                var rawMessage = message.Kind == WebSocketMessageType.Binary && message.Span[0] == RawFrameCodec.FrameType;
                if (rawMessage) RawIngestMetrics.Rejected(session.Tenant, RawIngestMetrics.Size);
                var limit = rawMessage ? opts.RawIngest.MaxMessageBytes : opts.MaxDeviceMessageBytes;
                await CloseAsync(() => WebSocketMessages.CloseQuietlyAsync(ws, MessageTooBig, $"{(rawMessage ? "raw frame " : "")}message over {limit} bytes"));
                return;
            }
            var now = Environment.TickCount64;
            if (Interlocked.Exchange(ref rawReplaced, 0) is > 0 and var replacedRaw) dropped.Add(replacedRaw);
            if (dropped.TryTake(now, out var droppedCount))
                await SendJsonAsync(new
                {
                    type = "warning", code = "frames_dropped", dropped = droppedCount,
                    message = $"{droppedCount} frame(s) were replaced by a newer frame of the same camera before the camera took them",
                });
            using (var lease = Router.Actors.Admission.TokenBuckets.AttemptAcquire(rate))
            {
                if (!lease.IsAcquired)
                {
                    rateLimited.Add();
                    AdmissionMetrics.Refused(Limits.DeviceMessages, session.Tenant);
                }
                if (rateLimited.TryTake(now, out var limitedCount))
                    await SendJsonAsync(new
                    {
                        type = "error", code = "rate_limited", dropped = limitedCount,
                        message = $"rate limited: {limitedCount} message(s) over {limits.DeviceMessagesPerSecond} messages/s were dropped",
                    });
                if (!lease.IsAcquired) continue;
            }
            var frame = message.Kind == WebSocketMessageType.Binary ? ParseBinary(message.Span) : ParseText(message.Span);
            if (frame.Error is not null)
            {
                if (message.Kind == WebSocketMessageType.Binary && message.Length > 0 && message.Span[0] == RawFrameCodec.FrameType)
                    RawIngestMetrics.Rejected(session.Tenant, frame.RawLengthMismatch ? RawIngestMetrics.Length : RawIngestMetrics.Malformed);
                await SendErrorAsync(frame.Error);
                continue;
            }
            if (frame.Jpeg is null && frame.Raw is null) continue; // heartbeat or an unknown type: ignored
            if (frame.Raw is { } raw && raw.Layout.Pixels > maxPixels)
            {
                // The pixel limit of the size policy, before any work (the JPEG would be refused by the camera anyway).
                RawIngestMetrics.Rejected(session.Tenant, RawIngestMetrics.Pixels);
                await SendErrorAsync($"frame rejected (TooManyPixels): {RawFrameEncoder.PixelLimitMessage(raw.Layout, maxPixels)}");
                continue;
            }
            var cameraId = string.IsNullOrEmpty(frame.CameraId) ? Identifiers.DefaultCameraId : frame.CameraId;
            if (!Identifiers.IsValidCameraId(cameraId, out var cameraError))
            {
                await SendErrorAsync(cameraError!);
                continue;
            }
            switch (flow.Offer(cameraId, frame))
            {
                case FlowOutcome.Replaced:
                    dropped.Add();
                    AdmissionMetrics.FramesDropped(session.Tenant, 1);
                    if (frame.Raw is not null) RawIngestMetrics.Dropped(session.Tenant, RawIngestMetrics.Replaced);
                    break;
                case FlowOutcome.TooManyCameras:
                    tooManyCameras.Add();
                    AdmissionMetrics.Refused(Limits.DeviceCameras, session.Tenant);
                    if (tooManyCameras.TryTake(now, out var refused))
                        await SendJsonAsync(new
                        {
                            type = "error", code = "too_many_cameras", dropped = refused,
                            message = $"too many cameras: a connection may send at most {limits.MaxCamerasPerDevice} distinct camera_ids; {refused} frame(s) of further cameras were dropped",
                        });
                    break;
            }
        }
    }

    private static ParsedFrame ParseBinary(ReadOnlySpan<byte> message) => DeviceMessageParser.ParseBinary(message);

    private static ParsedFrame ParseText(ReadOnlySpan<byte> message) => DeviceMessageParser.ParseText(message);

    private sealed record DeviceSession(string Tenant, string SourceId, string? Platform, ApiKeyIdentity Identity);
}
