using Microsoft.Extensions.Options;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Gateway.Security;

namespace Router.Gateway.Ingest;

/// <summary>
/// <c>POST /v1/sources/{source_id}/video/frames?camera_id=front[&amp;timestamp=ms]</c>, body <c>image/jpeg</c>,
/// <c>Authorization: Bearer &lt;key&gt;</c> with the <c>ingest</c> scope. 202
/// <c>{"camera_id","width","height","bytes","reencoded"}</c>; 400 not a JPEG or bad ids; 401 bad key; 403 wrong
/// scope; 413 over the hard limit or the pixel limit; 415 another content type; 503 (with <c>Retry-After</c>) re-encoding
/// busy; 504 the camera did not answer in time.
/// </summary>
internal sealed class HttpIngestEndpoint(ApiKeyStore keys, FrameIngestor ingestor, IOptions<CameraOptions> cameraOptions)
{
    public async Task<IResult> HandleAsync(HttpContext context, string sourceId)
    {
        var identity = BearerAuth.Authorize(context, keys, ApiScopes.Ingest, out var authError);
        if (identity is null) return authError!;
        if (!Identifiers.IsValidSourceId(sourceId, out var error)) return BadRequest(error!);
        var cameraId = context.Request.Query["camera_id"].ToString();
        if (cameraId.Length == 0) cameraId = Identifiers.DefaultCameraId;
        if (!Identifiers.IsValidCameraId(cameraId, out error)) return BadRequest(error!);
        var contentType = context.Request.ContentType?.Split(';')[0].Trim();
        if (!string.Equals(contentType, "image/jpeg", StringComparison.OrdinalIgnoreCase))
            return Results.Json(new { error = "Content-Type must be image/jpeg" }, statusCode: StatusCodes.Status415UnsupportedMediaType);
        long timestamp = 0;
        if (context.Request.Query.TryGetValue("timestamp", out var ts) && !QueryNumbers.TryParseInt64(ts, out timestamp))
            return BadRequest("timestamp must be Unix epoch milliseconds");

        var hardLimit = cameraOptions.Value.SizePolicy.HardLimitBytes;
        if (context.Request.ContentLength > hardLimit) return TooLarge(context.Request.ContentLength.Value, hardLimit);
        var body = await ReadBodyAsync(context.Request.Body, hardLimit, context.RequestAborted);
        if (body is null) return TooLarge(null, hardLimit);

        IRouterMessage reply;
        try
        {
            reply = await ingestor.IngestAsync(new StreamKey(identity.Tenant, sourceId, cameraId), body, timestamp, "http", context.RequestAborted);
        }
        catch (Akka.Actor.AskTimeoutException)
        {
            return Results.Json(new { error = "the camera did not answer in time" }, statusCode: StatusCodes.Status504GatewayTimeout);
        }
        return reply switch
        {
            FrameAccepted a => Results.Json(new { camera_id = cameraId, width = a.Width, height = a.Height, bytes = a.Bytes, reencoded = a.Reencoded },
                statusCode: StatusCodes.Status202Accepted),
            FrameRejected { Reason: FrameRejectReason.TooLarge or FrameRejectReason.TooManyPixels } r =>
                Results.Json(new { error = r.Message }, statusCode: StatusCodes.Status413PayloadTooLarge),
            FrameRejected { Reason: FrameRejectReason.Busy } r => Busy(context, r.Message),
            FrameRejected { Reason: FrameRejectReason.Stale } r => Results.Json(new { error = r.Message }, statusCode: StatusCodes.Status409Conflict),
            FrameRejected r => BadRequest(r.Message),
            _ => Results.StatusCode(StatusCodes.Status500InternalServerError),
        };
    }

    /// <summary>503 with <c>Retry-After: 1</c> (seconds): the node's re-encoding is saturated; a retry soon may succeed.</summary>
    private static IResult Busy(HttpContext context, string error)
    {
        context.Response.Headers.RetryAfter = "1";
        return Results.Json(new { error }, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private static IResult BadRequest(string error) => Results.Json(new { error }, statusCode: StatusCodes.Status400BadRequest);

    private static IResult TooLarge(long? size, int limit) =>
        Results.Json(new { error = $"frame{(size is null ? "" : $" of {size} bytes")} is over the hard limit of {limit} bytes" },
            statusCode: StatusCodes.Status413PayloadTooLarge);

    /// <summary>Reads the body; null when it exceeds <paramref name="limit"/> bytes.</summary>
    private static async Task<byte[]?> ReadBodyAsync(Stream body, int limit, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > limit) return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }
}
