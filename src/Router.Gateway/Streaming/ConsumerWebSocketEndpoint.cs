using System.Net.WebSockets;
using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.Options;
using Router.Actors.Camera;
using Router.Actors.Directory;
using Router.Actors.Gateway;
using Router.Actors.Hosting;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Actors.Metrics;
using Router.Gateway.Admission;
using Router.Gateway.Security;
using Router.Protocol;

namespace Router.Gateway.Streaming;

/// <summary>
/// <c>GET /v1/sources/{source_id}/video/stream?camera_id=a&amp;camera_id=b&amp;timeout=60&amp;format=json|binary|jpeg&amp;max_fps=N&amp;width=W&amp;height=H&amp;quality=Q</c>:
/// the Plexus-compatible consumer WebSocket (Plexus guide "Stream video end-to-end"). The first client message must be
/// <c>{"type":"auth","api_key":K}</c> (or <c>{"type":"auth","token":T}</c>, a <see cref="ViewerTokens">viewer token</see>)
/// within the auth window, else close 4001 "unauthorized"; then the server sends
/// <c>{"type":"init","online_sources":[…]}</c> and one message per frame. <c>timeout</c> (seconds, default 600)
/// closes with 4008 "stream timeout"; an internal failure closes with 1011. Admission: more than
/// <see cref="GatewayLimits.MaxCamerasPerConsumer"/> camera_ids get HTTP 400, an address with too many failed
/// authentications gets HTTP 429 before the upgrade, a tenant over its connection, connect-rate or subscription-rate
/// limit gets close 1013 with the limit as reason, and a tenant holding its cluster-wide consumer connection quota
/// (<c>Router:Quotas</c>) gets close 4029 with the quota as reason.
/// </summary>
internal sealed class ConsumerWebSocketEndpoint(
    ApiKeyStore keys,
    ViewerTokens tokens,
    ActorSystem system,
    IRequiredActor<CameraRelays> relays,
    IRequiredActor<CameraDirectory> directory,
    AuthFailureLimiter authFailures,
    ConsumerAdmission admission,
    Router.Actors.Quotas.TenantQuotas quotas,
    IOptions<GatewayOptions> options,
    IOptions<CameraOptions> cameraOptions,
    IHostApplicationLifetime lifetime,
    ILogger<ConsumerWebSocketEndpoint> logger)
{
    /// <summary>RFC 6455 close code 1013 "Try Again Later": a tenant limit refused the connection.</summary>
    private const int TryAgainLater = 1013;

    /// <summary>
    /// How long a frame send in flight when a consumer stream stops may take before it is cancelled (and the connection
    /// dropped without a close frame): 10 s. A consumer that paused reading for a few seconds still gets its close code
    /// (4008, 4001, …) once it reads again; one that stopped for good is released this long after its stream ended.
    /// </summary>
    internal static readonly TimeSpan SendDrainTimeout = TimeSpan.FromSeconds(10);

    public async Task HandleAsync(HttpContext context, string sourceId)
    {
        var maxCameras = options.Value.Limits.MaxCamerasPerConsumer;
        if (context.Request.Query["camera_id"].Count > maxCameras)
        {
            AdmissionMetrics.Refused(Limits.ConsumerCameras, null);
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsJsonAsync(new { error = $"at most {maxCameras} camera_id parameters per connection" });
            return;
        }
        var request = ParseRequest(context, sourceId, out var error);
        if (request is null)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsJsonAsync(new { error });
            return;
        }
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsJsonAsync(new { error = "WebSocket upgrade required" });
            return;
        }
        if (await authFailures.RefuseIfBlockedAsync(context)) return;
        var opts = options.Value;
        using var ws = await WebSocketMessages.AcceptAsync(context, opts);
        var aborted = context.RequestAborted;
        try
        {
            var attempt = authFailures.BeginAttempt(context);
            var identity = await AuthenticateAsync(ws, opts, request, aborted);
            if (identity is null)
            {
                attempt.Failed();
                return;
            }
            using var admitted = admission.Admit(identity.Tenant, request.CameraIds?.Count ?? 1, out var refusal);
            if (admitted is null)
            {
                logger.LogDebug("Consumer of tenant {Tenant} refused: {Reason}", identity.Tenant, refusal);
                await WebSocketMessages.CloseQuietlyAsync(ws, TryAgainLater, refusal!);
                return;
            }
            using var quota = quotas.TryOpenConsumer(identity.Tenant, out var overQuota); // over the cluster: close 4029
            if (quota is null)
            {
                logger.LogDebug("Consumer of tenant {Tenant} refused: {Reason}", identity.Tenant, overQuota);
                await WebSocketMessages.CloseQuietlyAsync(ws, PlexusJson.CloseQuotaExceeded, overQuota!);
                return;
            }
            TenantMetrics.ConsumerConnection(identity.Tenant, 1);
            // revoked: close 4001 "api key revoked" (a token: "token signing key revoked"; its expiry does not close it)
            using var lease = identity.Grant is null ? keys.Track(identity, ApiScopes.View) : tokens.Track(identity);
            try
            {
                await StreamAsync(context, ws, identity.Tenant, request, lease, aborted);
            }
            finally
            {
                TenantMetrics.ConsumerConnection(identity.Tenant, -1);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException && aborted.IsCancellationRequested)
        {
            // Client went away.
        }
        catch (Exception e)
        {
            logger.LogError(e, "Consumer stream of {SourceId} failed", sourceId);
            await WebSocketMessages.CloseQuietlyAsync(ws, (int)WebSocketCloseStatus.InternalServerError, "internal error");
        }
    }

    private static StreamRequest? ParseRequest(HttpContext context, string sourceId, out string? error) =>
        ConsumerRequestParser.Parse(context.Request.Query, sourceId, out error);

    /// <summary>
    /// Returns the identity (of an API key or a viewer token), or null after closing the socket with 4001 (with the
    /// token's problem, or the source_id/camera_id the token does not allow, as the reason).
    /// </summary>
    private async Task<ApiKeyIdentity?> AuthenticateAsync(WebSocket ws, GatewayOptions opts, StreamRequest request, CancellationToken aborted)
    {
        var first = await WebSocketMessages.ReceiveFirstAsync(ws, 16 * 1024, opts.AuthTimeout, PlexusJson.CloseUnauthorized, "unauthorized", aborted);
        if (first is not { } message) return null;
        using (message)
        {
            string? reason = null;
            var identity = message.Kind == WebSocketMessageType.Text && !message.TooBig ? Authenticate(message, out reason) : null;
            reason = identity?.Grant?.Refusal(request.SourceId, request.CameraIds) ?? reason;
            if (identity is null || reason is not null)
            {
                AuthFailureLimiter.FailCurrent(); // before the close: the client cannot reconnect before it counts
                await WebSocketMessages.CloseQuietlyAsync(ws, PlexusJson.CloseUnauthorized, reason ?? "unauthorized");
                return null;
            }
            return identity;
        }
    }

    private ApiKeyIdentity? Authenticate(ReceivedMessage message, out string? reason)
    {
        reason = null;
        if (ConsumerMessageParser.ParseAuthToken(message.Span) is { } token)
        {
            var grant = tokens.Validate(token, out var error);
            reason = grant is null ? $"unauthorized: {error}" : null;
            return grant is null ? null : ApiKeyIdentity.ForToken(grant);
        }
        var identity = keys.Authenticate(ConsumerMessageParser.ParseAuth(message.Span));
        return identity is not null && identity.Has(ApiScopes.View) ? identity : null;
    }

    private async Task StreamAsync(HttpContext context, WebSocket ws, string tenant, StreamRequest request, ApiKeyLease lease, CancellationToken aborted)
    {
        var online = await directory.ActorRef.Ask<OnlineCameras>(new GetOnlineCameras(tenant), options.Value.QueryTimeout, aborted);
        await ws.SendAsync(InitMessage(online, lease.Identity.Grant), WebSocketMessageType.Text, true, aborted);
        // A token naming camera_ids: a request for every camera of the source gets only those.
        request = request with { CameraIds = request.CameraIds ?? lease.Identity.Grant?.CameraIds };

        using var stopWriting = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        // A send still in flight when the stream stops gets SendDrainTimeout to finish (so the close frame follows a
        // whole message); then it is cancelled, so a consumer that stopped reading cannot hold the close up.
        using var cancelSends = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var connection = new ConsumerConnection(ws, DirectSendUpgradeFeature.Of(context), request.Format, cancelSends.Token);
        var consumerActor = system.ActorOf(ConsumerActor.Props(tenant, request.SourceId, request.CameraIds, request.MaxFps,
            relays.ActorRef, directory.ActorRef, connection, cameraOptions.Value.LatestFrameMaxAge, variant: request.Variant).WithDispatcher(FanOutDispatcher.For(system)));
        var timeout = request.Timeout ?? options.Value.DefaultStreamTimeout;
        var timedOut = Task.Delay(timeout, stopWriting.Token);
        var reading = DrainUntilCloseAsync(ws, aborted);
        var writing = connection.Completion;
        using var stoppingScope = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping); // unregistered on dispose
        var shuttingDown = Task.Delay(Timeout.Infinite, stoppingScope.Token);
        using var revokedScope = CancellationTokenSource.CreateLinkedTokenSource(lease.Revoked); // unregistered on dispose
        var revoked = Task.Delay(Timeout.Infinite, revokedScope.Token);
        try
        {
            var first = await Task.WhenAny(reading, writing, timedOut, shuttingDown, revoked);
            system.Stop(consumerActor);
            stopWriting.Cancel();
            cancelSends.CancelAfter(SendDrainTimeout);
            try { await connection.StopAsync(); } catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException or System.Net.Sockets.SocketException) { }
            if (first == timedOut)
                await CloseAndDrainAsync(ws, reading, PlexusJson.CloseStreamTimeout, "stream timeout");
            else if (first == revoked)
            {
                logger.LogInformation("Consumer of tenant {Tenant} closed: {Reason}", tenant, lease.RevokedReason);
                ApiKeyMetrics.ConnectionClosed(tenant, "consumer");
                await CloseAndDrainAsync(ws, reading, PlexusJson.CloseUnauthorized, lease.RevokedReason);
            }
            else if (first == shuttingDown)
                await CloseAndDrainAsync(ws, reading, (int)WebSocketCloseStatus.EndpointUnavailable, "server shutting down");
            else if (first == reading)
                await CloseAndDrainAsync(ws, reading, (int)WebSocketCloseStatus.NormalClosure, "bye");
            else
                await CloseAndDrainAsync(ws, reading, (int)WebSocketCloseStatus.InternalServerError, "internal error");
        }
        finally
        {
            system.Stop(consumerActor);
        }
    }

    private static async Task CloseAndDrainAsync(WebSocket ws, Task reading, int code, string reason)
    {
        if (ws.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            try { await ws.CloseOutputAsync((WebSocketCloseStatus)code, reason, CancellationToken.None); }
            catch (WebSocketException) { ws.Abort(); } // no close could be written (a send was cut or failed): no reply to wait for
        }
        if (await Task.WhenAny(reading, Task.Delay(TimeSpan.FromSeconds(2))) != reading) ws.Abort();
        try { await reading; } catch (Exception e) when (e is WebSocketException or OperationCanceledException) { }
    }

    /// <summary>Reads and ignores client messages until the client closes (the protocol has nothing more to say).</summary>
    private static async Task DrainUntilCloseAsync(WebSocket ws, CancellationToken aborted)
    {
        var buffer = new byte[4096];
        while (ws.State is WebSocketState.Open or WebSocketState.CloseSent)
        {
            var result = await ws.ReceiveAsync(buffer, aborted);
            if (result.MessageType == WebSocketMessageType.Close) return;
        }
    }

    private static byte[] InitMessage(OnlineCameras online, ViewerGrant? grant)
    {
        var sources = online.Cameras
            .Where(c => grant?.Allows(c.Key.SourceId, c.Key.CameraId) ?? true) // a viewer token sees only what it allows
            .GroupBy(c => c.Key.SourceId)
            .Select(g => new
            {
                source_id = g.Key,
                platform = g.Select(c => c.Platform).FirstOrDefault(p => p.Length > 0) ?? string.Empty,
                cameras = g.Select(c => new { camera_id = c.Key.CameraId, video_type = "normal" }).ToList(),
            })
            .ToList();
        return JsonSerializer.SerializeToUtf8Bytes(new { type = "init", online_sources = sources });
    }
}
