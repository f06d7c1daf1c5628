using Router.Protocol;

namespace Router.Gateway.Streaming;

/// <summary>A parsed consumer stream request.</summary>
/// <param name="SourceId">The source to stream.</param>
/// <param name="CameraIds">The requested cameras; null means every camera of the source.</param>
/// <param name="Format">Wire format of the frames.</param>
/// <param name="Timeout">Stream duration; null means the gateway's default.</param>
/// <param name="MaxFps">Rate cap per camera in frames per second; 0 means none, otherwise within
/// <see cref="ConsumerRequestParser.MinMaxFps"/>–<see cref="ConsumerRequestParser.MaxMaxFps"/>.</param>
internal sealed record StreamRequest(string SourceId, IReadOnlyList<string>? CameraIds, FrameFormat Format, TimeSpan? Timeout, double MaxFps);

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
        error = null;
        return new StreamRequest(sourceId, cameras.Count == 0 ? null : cameras, format, timeout, maxFps);
    }
}
