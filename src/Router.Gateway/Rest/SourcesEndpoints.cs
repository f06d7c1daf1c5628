using Akka.Actor;
using Akka.Hosting;
using Router.Actors.Directory;
using Router.Actors.Hosting;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Gateway.Security;

namespace Router.Gateway.Rest;

/// <summary>
/// REST: <c>GET /v1/sources</c> (the tenant's online sources with their cameras, last frame time, fps, resolution)
/// and <c>GET /v1/sources/{source_id}/cameras/{camera_id}/snapshot.jpg</c> (the newest frame, 404 when none).
/// Both need a bearer key with the <c>view</c> scope.
/// </summary>
internal sealed class SourcesEndpoints(ApiKeyStore keys, IRequiredActor<CameraDirectory> directory, IRequiredActor<CameraRegion> region)
{
    public async Task<IResult> ListAsync(HttpContext context)
    {
        var identity = BearerAuth.Authorize(context, keys, ApiScopes.View, out var error);
        if (identity is null) return error!;
        var online = await directory.ActorRef.Ask<OnlineCameras>(new GetOnlineCameras(identity.Tenant), TimeSpan.FromSeconds(5), context.RequestAborted);
        var sources = online.Cameras
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
                    subscribers = c.Subscribers,
                }).ToList(),
            });
        return Results.Json(new { sources });
    }

    public async Task<IResult> SnapshotAsync(HttpContext context, string sourceId, string cameraId)
    {
        var identity = BearerAuth.Authorize(context, keys, ApiScopes.View, out var error);
        if (identity is null) return error!;
        if (!Identifiers.IsValidSourceId(sourceId, out var idError) || !Identifiers.IsValidCameraId(cameraId, out idError))
            return Results.Json(new { error = idError }, statusCode: StatusCodes.Status400BadRequest);
        var snapshot = await region.ActorRef.Ask<Snapshot>(new GetSnapshot(new StreamKey(identity.Tenant, sourceId, cameraId)),
            TimeSpan.FromSeconds(5), context.RequestAborted);
        if (snapshot.Frame is null) return Results.Json(new { error = "no frame yet" }, statusCode: StatusCodes.Status404NotFound);
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers["X-Frame-Timestamp"] = snapshot.Frame.TimestampMs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Results.Bytes(snapshot.Frame.Jpeg, "image/jpeg");
    }
}
