using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Router.Actors.Camera;
using Router.Actors.Directory;
using Router.Actors.Hosting;
using Router.Actors.Identity;
using Router.Actors.Media;
using Router.Actors.Messages;
using Router.Gateway.Security;
using Router.Gateway.Streaming;
using Router.Protocol;

namespace Router.Gateway.Rest;

/// <summary>
/// REST: <c>GET /v1/sources</c> (the tenant's online sources with their cameras, last frame time, fps, resolution)
/// and <c>GET /v1/sources/{source_id}/cameras/{camera_id}/snapshot.jpg</c> (the newest frame, 404 when none; the
/// camera_id may contain <c>/</c>, literally or as <c>%2F</c>).
/// Both need a bearer key with the <c>view</c> scope, or a viewer token: it lists only the sources and cameras it
/// allows, and a snapshot outside them gets 403 naming the source_id or camera_id. When the cluster does not answer within
/// <see cref="GatewayOptions.QueryTimeout"/> they answer 503 (<see cref="AskTimeoutFilter"/>).
/// The snapshot takes <c>width</c>, <c>height</c> and <c>quality</c> like the consumer WebSocket
/// (<see cref="ConsumerRequestParser.TryParseVariant"/>); such a snapshot is encoded on this gateway under its variant
/// encode bound (<see cref="VariantEncodeGate"/>), and answers 503 when no slot is free within the query timeout.
/// </summary>
internal sealed class SourcesEndpoints(
    ApiKeyStore keys,
    IRequiredActor<CameraDirectory> directory,
    IRequiredActor<CameraRegion> region,
    IOptions<GatewayOptions> options,
    ActorSystem system,
    IOptions<CameraOptions> cameraOptions)
{
    public async Task<IResult> ListAsync(HttpContext context)
    {
        var identity = BearerAuth.Authorize(context, keys, ApiScopes.View, out var error);
        if (identity is null) return error!;
        var online = await directory.ActorRef.Ask<OnlineCameras>(new GetOnlineCameras(identity.Tenant), options.Value.QueryTimeout, context.RequestAborted);
        var sources = online.Cameras
            .Where(c => identity.Grant?.Allows(c.Key.SourceId, c.Key.CameraId) ?? true) // a viewer token lists only what it allows
            .GroupBy(c => c.Key.SourceId)
            .Select(g => new
            {
                source_id = g.Key,
                platform = g.Select(c => c.Platform).FirstOrDefault(p => p.Length > 0) ?? string.Empty,
                cameras = g.Select(c => new
                {
                    camera_id = c.Key.CameraId,
                    video_type = "normal",
                    online = c.Online,
                    last_frame_ms = c.LastFrameMs,
                    fps = c.Fps,
                    width = c.Width,
                    height = c.Height,
                    consumers = online.ConsumersOf(c.Key),
                    relays = c.Relays,
                }).ToList(),
            });
        return Results.Json(new { sources });
    }

    /// <summary>
    /// <c>GET /v1/sources/{source_id}/cameras/{camera_id}/snapshot.jpg</c>, mapped as the catch-all
    /// <c>/v1/sources/{source_id}/cameras/{**camera_path}</c> so that a camera_id may contain <c>/</c>.
    /// </summary>
    public async Task<IResult> SnapshotAsync(HttpContext context, string sourceId)
    {
        var cameraId = SnapshotCameraId(context);
        if (cameraId is null)
            return Results.Json(new { error = "not found (GET /v1/sources/{source_id}/cameras/{camera_id}/snapshot.jpg)" }, statusCode: StatusCodes.Status404NotFound);
        var identity = BearerAuth.Authorize(context, keys, ApiScopes.View, out var error);
        if (identity is null) return error!;
        if (!Identifiers.IsValidSourceId(sourceId, out var idError) || !Identifiers.IsValidCameraId(cameraId, out idError))
            return Results.Json(new { error = idError }, statusCode: StatusCodes.Status400BadRequest);
        if (identity.Grant?.Refusal(sourceId, [cameraId]) is { } refusal)
            return Results.Json(new { error = refusal }, statusCode: StatusCodes.Status403Forbidden);
        if (!ConsumerRequestParser.TryParseVariant(context.Request.Query, out var variant, out var variantError))
            return Results.Json(new { error = variantError }, statusCode: StatusCodes.Status400BadRequest);
        var snapshot = await region.ActorRef.Ask<Snapshot>(new GetSnapshot(new StreamKey(identity.Tenant, sourceId, cameraId)),
            options.Value.QueryTimeout, context.RequestAborted);
        if (snapshot.Frame is null) return Results.Json(new { error = "no frame yet" }, statusCode: StatusCodes.Status404NotFound);
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers["X-Frame-Timestamp"] = snapshot.Frame.TimestampMs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (variant is null || variant.PassesThrough(snapshot.Frame.Width, snapshot.Frame.Height)) return Results.Bytes(snapshot.Frame.Jpeg, "image/jpeg");
        var frame = await EncodeVariantAsync(snapshot.Frame, variant, context.RequestAborted);
        if (frame is null)
        {
            context.Response.Headers.RetryAfter = "1";
            return Results.Json(new { error = "variant encoding is busy on this gateway; try again" }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        return Results.Bytes(frame.Jpeg, "image/jpeg");
    }

    /// <summary>The variant of <paramref name="frame"/>, or null when no encode slot was free within the query timeout.</summary>
    private async Task<VideoFrame?> EncodeVariantAsync(VideoFrame frame, VariantSpec variant, CancellationToken aborted)
    {
        var variants = cameraOptions.Value.Variants;
        var spec = variant.WithDefaultQuality(variants.DefaultQuality);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        deadline.CancelAfter(options.Value.QueryTimeout);
        try
        {
            return await VariantEncodeGate.For(system, variants).RunAsync(() => FrameVariants.Encode(frame, spec), deadline.Token);
        }
        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
        {
            return null;
        }
    }

    private const string SnapshotSuffix = "/snapshot.jpg";

    /// <summary>
    /// The camera_id of a snapshot request: everything between <c>/cameras/</c> and the last <c>/snapshot.jpg</c>,
    /// percent-decoded once. It is read from the raw request target, where an escaped <c>/</c> (<c>%2F</c>) and a
    /// literal one are both still visible and <c>%25</c> is still an escaped <c>%</c> (the decoded path keeps
    /// <c>%2F</c> escaped but decodes <c>%25</c>, so it cannot tell <c>a%2Fb</c> from <c>a/b</c>). Null when the path
    /// does not end in <c>/snapshot.jpg</c> or the camera part is empty.
    /// </summary>
    internal static string? SnapshotCameraId(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        string path;
        if (raw is { Length: > 0 } && raw[0] == '/')
        {
            var query = raw.IndexOf('?');
            path = query < 0 ? raw : raw[..query];
        }
        else
        {
            // No origin-form target (e.g. an absolute-form request line): the decoded path, which keeps %2F escaped.
            path = context.Request.Path.Value ?? string.Empty;
        }
        // "", "v1", "sources", source_id (never contains '/'), "cameras", camera_id + "/snapshot.jpg"
        var parts = path.Split('/', 6);
        if (parts.Length != 6 || !parts[4].Equals("cameras", StringComparison.OrdinalIgnoreCase)) return null;
        var rest = parts[5];
        if (!rest.EndsWith(SnapshotSuffix, StringComparison.OrdinalIgnoreCase) || rest.Length == SnapshotSuffix.Length) return null;
        return Uri.UnescapeDataString(rest[..^SnapshotSuffix.Length]);
    }
}
