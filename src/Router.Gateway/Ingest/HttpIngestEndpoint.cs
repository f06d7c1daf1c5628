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
    RawFrameEncoder rawEncoder,
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
        var isRaw = string.Equals(contentType, "application/octet-stream", StringComparison.OrdinalIgnoreCase);
        if (!isRaw && !string.Equals(contentType, "image/jpeg", StringComparison.OrdinalIgnoreCase))
            return Results.Json(new { error = "Content-Type must be image/jpeg (or application/octet-stream for raw pixels with format, width and height)" },
                statusCode: StatusCodes.Status415UnsupportedMediaType);
        long timestamp = 0;
        if (context.Request.Query.TryGetValue("timestamp", out var ts) && !QueryNumbers.TryParseInt64(ts, out timestamp))
            return BadRequest("timestamp must be Unix epoch milliseconds");

        var hardLimit = cameraOptions.Value.SizePolicy.HardLimitBytes;
        RawFrameLayout? raw = null;
        if (isRaw)
        {
            // Raw pixels: the layout from the query, checked with the pixel limit and the size before the body is read.
            if (!TryReadRawLayout(context.Request.Query, out var layout, out var rawError))
            {
                RawIngestMetrics.Rejected(identity.Tenant, RawIngestMetrics.Malformed);
                return BadRequest(rawError!);
            }
            var maxPixels = cameraOptions.Value.SizePolicy.MaxPixels;
            if (layout.Pixels > maxPixels)
            {
                RawIngestMetrics.Rejected(identity.Tenant, RawIngestMetrics.Pixels);
                return Results.Json(new { error = RawFrameEncoder.PixelLimitMessage(layout, maxPixels) }, statusCode: StatusCodes.Status413PayloadTooLarge);
            }
            var rawLimit = gatewayOptions.Value.RawIngest.MaxMessageBytes;
            if (layout.ByteCount > rawLimit)
            {
                RawIngestMetrics.Rejected(identity.Tenant, RawIngestMetrics.Size);
                return Results.Json(new { error = $"raw frame of {layout.ByteCount} bytes is over the raw limit of {rawLimit} bytes" },
                    statusCode: StatusCodes.Status413PayloadTooLarge);
            }
            if (context.Request.ContentLength is { } declaredLength && declaredLength != layout.ByteCount)
            {
                RawIngestMetrics.Rejected(identity.Tenant, RawIngestMetrics.Length);
                return BadRequest(layout.LengthMismatch(declaredLength));
            }
            raw = layout;
            hardLimit = layout.ByteCount;
        }
        else if (context.Request.ContentLength > hardLimit) return TooLarge(context.Request.ContentLength.Value, hardLimit);

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
                body = raw is { } expected && context.Request.ContentLength is not null
                    ? await ReadExactlyAsync(context.Request.Body, expected.ByteCount, deadline.Token)
                    : await ReadBodyAsync(context.Request.Body, hardLimit, deadline.Token);
            }
            catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
            {
                AdmissionMetrics.Refused(Limits.BodyReadTimeout, identity.Tenant);
                context.Response.Headers.Connection = "close";
                return Results.Json(new { error = $"the request body did not arrive within {limits.BodyReadTimeout.TotalSeconds:0.###} s" },
                    statusCode: StatusCodes.Status408RequestTimeout);
            }
        }
        if (body is null && raw is { } over)
        {
            RawIngestMetrics.Rejected(identity.Tenant, RawIngestMetrics.Length);
            return BadRequest(over.LengthMismatchOver());
        }
        if (body is null) return TooLarge(null, hardLimit);
        if (context.Request.ContentLength is null)
        {
            using var bytes = admission.AcquireBytes(identity, body.Length, limits.IngestBytesPerSecondPerKey);
            if (!bytes.IsAcquired) return TooManyRequests(Limits.IngestBytes, identity.Tenant, bytes, $"over {limits.IngestBytesPerSecondPerKey} ingest bytes/s for this key");
        }

        if (raw is { } rawLayout)
        {
            if (body.Length != rawLayout.ByteCount)
            {
                RawIngestMetrics.Rejected(identity.Tenant, RawIngestMetrics.Length);
                return BadRequest(rawLayout.LengthMismatch(body.Length));
            }
            var key = new StreamKey(identity.Tenant, sourceId, cameraId);
            var encoded = await rawEncoder.EncodeAsync(key, new RawFrame(rawLayout, body));
            switch (encoded.Status)
            {
                case RawEncodeStatus.Encoded:
                    body = encoded.Jpeg!;
                    break;
                case RawEncodeStatus.Replaced:
                    return Results.Json(new { error = encoded.Message }, statusCode: StatusCodes.Status409Conflict);
                case RawEncodeStatus.Failed:
                    return BadRequest(encoded.Message!);
                default:
                    return Busy(context, encoded.Message!);
            }
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

    /// <summary>
    /// Reads <c>format</c> (case-insensitive: i420, nv12, rgba, bgra, rgb24, bgr24), <c>width</c>, <c>height</c> and the
    /// optional <c>stride</c> (bytes per row; default packed rows) into a checked layout.
    /// </summary>
    private static bool TryReadRawLayout(IQueryCollection query, out RawFrameLayout layout, out string? error)
    {
        layout = default;
        var formats = query["format"];
        if (formats.Count != 1 || !RawPixelFormats.TryParse(formats[0], out var format))
        {
            error = $"application/octet-stream needs one format parameter: {string.Join(", ", RawPixelFormats.Names)}";
            return false;
        }
        long width = 0, height = 0, stride = 0;
        if (!query.TryGetValue("width", out var w) || !QueryNumbers.TryParseInt64(w, out width) ||
            !query.TryGetValue("height", out var h) || !QueryNumbers.TryParseInt64(h, out height))
        {
            error = "application/octet-stream needs width and height parameters: integers, in pixels";
            return false;
        }
        if (query.TryGetValue("stride", out var s) && (!QueryNumbers.TryParseInt64(s, out stride) || stride < 0))
        {
            error = "stride must be a non-negative integer, in bytes per row (0 or absent: rows are packed)";
            return false;
        }
        return RawFrameLayout.TryCreate(format, width, height, stride, out layout, out error);
    }

    private static IResult BadRequest(string error) => Results.Json(new { error }, statusCode: StatusCodes.Status400BadRequest);

    private static IResult TooLarge(long? size, int limit) =>
        Results.Json(new { error = $"frame{(size is null ? "" : $" of {size} bytes")} is over the hard limit of {limit} bytes" },
            statusCode: StatusCodes.Status413PayloadTooLarge);

    /// <summary>
    /// Reads a raw body whose Content-Length was checked to be <paramref name="length"/> straight into one array of that
    /// size (no growing buffer, no second copy). Returns a shorter array when the body ends early (refused by the caller).
    /// </summary>
    private static async Task<byte[]?> ReadExactlyAsync(Stream body, int length, CancellationToken ct)
    {
        var buffer = new byte[length];
        var read = await body.ReadAtLeastAsync(buffer, length, throwOnEndOfStream: false, ct);
        return read == length ? buffer : buffer[..read];
    }

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
