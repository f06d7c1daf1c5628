using Router.Actors.Media;
using Router.Protocol;

namespace Router.Gateway.Streaming;

/// <summary>A parsed consumer stream request.</summary>
/// <param name="SourceId">The source to stream.</param>
/// <param name="CameraIds">The requested cameras; null means every camera of the source.</param>
/// <param name="Format">Wire format of the frames.</param>
/// <param name="Timeout">Stream duration; null means the gateway's default.</param>
/// <param name="MaxFps">Rate cap per camera in frames per second; 0 means none, otherwise within
/// <see cref="ConsumerRequestParser.MinMaxFps"/>–<see cref="ConsumerRequestParser.MaxMaxFps"/>.</param>
/// <param name="Variant">The smaller picture asked for with <c>width</c>, <c>height</c>, <c>quality</c>; null for full size.</param>
internal sealed record StreamRequest(string SourceId, IReadOnlyList<string>? CameraIds, FrameFormat Format, TimeSpan? Timeout, double MaxFps,
    VariantSpec? Variant = null);

/// <summary>
/// Parses the consumer WebSocket's query parameters (its auth message: <see cref="ConsumerMessageParser"/>). Never
/// throws: any input gives a request or an error (HTTP 400).
/// </summary>
internal static class ConsumerRequestParser
{
    /// <summary>Smallest <c>max_fps</c>: one frame per 100 s, so that the derived frame interval stays far inside <see cref="TimeSpan"/>.</summary>
    public const double MinMaxFps = 0.01;

    /// <summary>Largest <c>max_fps</c>.</summary>
    public const double MaxMaxFps = 1000;

    /// <summary>Largest <c>timeout</c>, in seconds (one day).</summary>
    public const double MaxTimeoutSeconds = 86_400;

    /// <summary>Parses <c>camera_id</c> (repeatable), <c>format</c>, <c>timeout</c> and <c>max_fps</c>.</summary>
    /// <returns>The request, or null with the reason in <paramref name="error"/>.</returns>
    public static StreamRequest? Parse(IQueryCollection query, string sourceId, out string? error)
    {
        if (!Identifiers.IsValidSourceId(sourceId, out error)) return null;
        var cameras = query["camera_id"].Where(c => c is not null).Select(c => c!).Distinct().ToList();
        foreach (var camera in cameras)
            if (!Identifiers.IsValidCameraId(camera, out error)) return null;
        var format = FrameFormat.Json;
        switch (query["format"].ToString())
        {
            case "" or "json": break;
            case "binary": format = FrameFormat.Binary; break;
            case "jpeg": format = FrameFormat.Jpeg; break;
            default: error = "format must be json, binary or jpeg"; return null;
        }
        if (format == FrameFormat.Jpeg && cameras.Count != 1)
        {
            error = "format=jpeg needs exactly one camera_id (bare JPEG bytes do not say which camera)";
            return null;
        }
        TimeSpan? timeout = null;
        if (query.TryGetValue("timeout", out var t))
        {
            if (!QueryNumbers.TryParseFiniteDouble(t, out var seconds) || seconds <= 0 || seconds > MaxTimeoutSeconds)
            {
                error = "timeout must be a number of seconds between 0 and 86400";
                return null;
            }
            timeout = TimeSpan.FromSeconds(seconds);
        }
        double maxFps = 0;
        if (query.TryGetValue("max_fps", out var m) &&
            (!QueryNumbers.TryParseFiniteDouble(m, out maxFps) || maxFps < MinMaxFps || maxFps > MaxMaxFps))
        {
            error = "max_fps must be a number between 0.01 and 1000";
            return null;
        }
        if (!TryParseVariant(query, out var variant, out error)) return null;
        return new StreamRequest(sourceId, cameras.Count == 0 ? null : cameras, format, timeout, maxFps, variant);
    }

    /// <summary>
    /// Parses <c>width</c> and <c>height</c> (whole pixels, <see cref="VariantSpec.MinSide"/>–<see cref="VariantSpec.MaxSide"/>)
    /// and <c>quality</c> (1–100), each at most once, for the consumer WebSocket and <c>snapshot.jpg</c>.
    /// </summary>
    /// <param name="query">The request's query.</param>
    /// <param name="variant">The variant (quality 0 when not given: the gateway's default), or null when none of the three is present.</param>
    /// <param name="error">Why the values are refused (HTTP 400), or null.</param>
    /// <returns>False when a value is refused.</returns>
    public static bool TryParseVariant(IQueryCollection query, out VariantSpec? variant, out string? error)
    {
        variant = null;
        error = null;
        if (!TryParseSide(query, "width", out var width, out error) || !TryParseSide(query, "height", out var height, out error)) return false;
        var quality = 0L;
        if (query.TryGetValue("quality", out var q) && (!QueryNumbers.TryParseInt64(q, out quality) || quality is < 1 or > 100))
        {
            error = "quality must be a whole number between 1 and 100";
            return false;
        }
        if (width > 0 || height > 0 || quality > 0) variant = new VariantSpec((int)width, (int)height, (int)quality);
        return true;
    }

    private static bool TryParseSide(IQueryCollection query, string name, out long value, out string? error)
    {
        value = 0;
        error = null;
        if (!query.TryGetValue(name, out var v)) return true;
        if (QueryNumbers.TryParseInt64(v, out value) && value is >= VariantSpec.MinSide and <= VariantSpec.MaxSide) return true;
        error = $"{name} must be a whole number of pixels between {VariantSpec.MinSide} and {VariantSpec.MaxSide}";
        return false;
    }
}
