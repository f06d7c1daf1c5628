using Microsoft.Extensions.Options;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Gateway.Admission;
using Router.Gateway.Security;
using Router.Protocol;

namespace Router.Gateway.Ingest;

/// <summary>
/// <c>POST /v1/sources/{source_id}/video/frames?camera_id=front[&amp;timestamp=ms]</c>, body <c>image/jpeg</c>,
/// <c>Authorization: Bearer &lt;key&gt;</c> with the <c>ingest</c> scope. 202
/// <c>{"camera_id","width","height","bytes","reencoded"}</c>; 400 not a JPEG or bad ids; 401 bad key; 403 wrong
/// scope; 408 the body did not arrive within the body read deadline; 413 over the hard limit or the pixel limit;
/// 415 another content type; 429 (with <c>Retry-After</c>) over the key's request, byte or held-body limit, too
/// many failed authentications, or over a tenant quota (online cameras, ingest bytes/s; <c>Router:Quotas</c>); 503 (with <c>Retry-After</c>) re-encoding busy; 504 the camera did not answer in time.
/// </summary>
internal sealed class HttpIngestEndpoint(
    ApiKeyStore keys,
    FrameIngestor ingestor,
    IngestAdmission admission,
    IOptions<GatewayOptions> gatewayOptions,
    IOptions<CameraOptions> cameraOptions)
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

        // Admission per key, before the body is read: requests/s, bytes/s (Content-Length, else the bytes read), and
        // bodies held at once (until the camera's verdict), each a 429 with Retry-After.
        var limits = gatewayOptions.Value.Limits;
        using (var request = admission.AcquireRequest(identity))
            if (!request.IsAcquired) return TooManyRequests(Limits.IngestRequests, identity.Tenant, request, $"over {limits.IngestRequestsPerSecondPerKey} ingest requests/s for this key");
        if (context.Request.ContentLength is { } declared)
        {
            using var bytes = admission.AcquireBytes(identity, declared, limits.IngestBytesPerSecondPerKey);
            if (!bytes.IsAcquired) return TooManyRequests(Limits.IngestBytes, identity.Tenant, bytes, $"over {limits.IngestBytesPerSecondPerKey} ingest bytes/s for this key");
        }
        using var held = admission.AcquireHeldBody(identity);
        if (!held.IsAcquired) return TooManyRequests(Limits.HeldBodies, identity.Tenant, held, $"over {limits.MaxHeldBodiesPerKey} ingest requests of this key in progress");
        byte[]? body;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted))
        {
            deadline.CancelAfter(limits.BodyReadTimeout);
            try
            {
                body = await ReadBodyAsync(context.Request.Body, hardLimit, deadline.Token);
            }
            catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
            {
                AdmissionMetrics.Refused(Limits.BodyReadTimeout, identity.Tenant);
                context.Response.Headers.Connection = "close";
                return Results.Json(new { error = $"the request body did not arrive within {limits.BodyReadTimeout.TotalSeconds:0.###} s" },
                    statusCode: StatusCodes.Status408RequestTimeout);
            }
        }
        if (body is null) return TooLarge(null, hardLimit);
        if (context.Request.ContentLength is null)
        {
            using var bytes = admission.AcquireBytes(identity, body.Length, limits.IngestBytesPerSecondPerKey);
            if (!bytes.IsAcquired) return TooManyRequests(Limits.IngestBytes, identity.Tenant, bytes, $"over {limits.IngestBytesPerSecondPerKey} ingest bytes/s for this key");
        }

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
            FrameRejected { Reason: FrameRejectReason.OnlineCamerasQuota or FrameRejectReason.IngestBytesQuota } r => OverQuota(r),
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

    private static IResult TooManyRequests(string limit, string tenant, System.Threading.RateLimiting.RateLimitLease lease, string error)
    {
        AdmissionMetrics.Refused(limit, tenant);
        var seconds = lease.TryGetMetadata(System.Threading.RateLimiting.MetadataName.RetryAfter, out var after)
            ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds))
            : 1;
        return new RetryAfterResult(Results.Json(new { error = $"{error}; retry after {seconds} s" }, statusCode: StatusCodes.Status429TooManyRequests), seconds);
    }

    /// <summary>
    /// 429 with <c>Retry-After</c> for a tenant quota: 1 s for the ingest byte rate (measured over the last second),
    /// <c>Router:Camera:OfflineAfter</c> for online cameras (the soonest another camera can go offline).
    /// </summary>
    private IResult OverQuota(FrameRejected rejected)
    {
        var seconds = rejected.Reason == FrameRejectReason.OnlineCamerasQuota
            ? Math.Max(1, (int)Math.Ceiling(cameraOptions.Value.OfflineAfter.TotalSeconds))
            : 1;
        return new RetryAfterResult(Results.Json(new { error = rejected.Message, quota = QuotaOf(rejected.Reason) },
            statusCode: StatusCodes.Status429TooManyRequests), seconds);
    }

    /// <summary>The quota name (<c>online_cameras</c>, <c>ingest_bytes_per_second</c>) of a quota rejection.</summary>
    internal static string QuotaOf(FrameRejectReason reason) =>
        Router.Actors.Quotas.QuotaNames.Of(reason == FrameRejectReason.OnlineCamerasQuota
            ? Router.Actors.Quotas.Quota.OnlineCameras
            : Router.Actors.Quotas.Quota.IngestBytesPerSecond);

    /// <summary>Adds <c>Retry-After</c> to an inner result.</summary>
    private sealed class RetryAfterResult(IResult inner, int seconds) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
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
