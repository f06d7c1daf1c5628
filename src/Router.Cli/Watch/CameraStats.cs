using System.Diagnostics;

namespace Router.Cli.Watch;

/// <summary>Per-camera receive statistics: the current one-second window and the whole run.</summary>
internal sealed class CameraStats(string cameraId)
{
    private readonly List<long> windowLatencies = [];
    private readonly List<long> allLatencies = [];
    private long windowFrames;
    private long windowBytes;
    private long firstFrameTimestamp;
    private long lastFrameTimestamp;

    /// <summary>The camera.</summary>
    public string CameraId { get; } = cameraId;

    /// <summary>Frames received in the whole run.</summary>
    public long Frames { get; private set; }

    /// <summary>Bytes of JPEG received in the whole run.</summary>
    public long Bytes { get; private set; }

    /// <summary>Last seen width.</summary>
    public int Width { get; private set; }

    /// <summary>Last seen height.</summary>
    public int Height { get; private set; }

    /// <summary>Records one frame; <paramref name="latencyMs"/> is null when the format carries no timestamp.</summary>
    public void Add(int jpegBytes, int width, int height, long? latencyMs)
    {
        var now = Stopwatch.GetTimestamp();
        if (Frames == 0) firstFrameTimestamp = now;
        lastFrameTimestamp = now;
        Frames++;
        Bytes += jpegBytes;
        windowFrames++;
        windowBytes += jpegBytes;
        Width = width;
        Height = height;
        if (latencyMs is { } latency)
        {
            windowLatencies.Add(latency);
            allLatencies.Add(latency);
        }
    }

    /// <summary>The progress line for the window that just ended, then starts a new window.</summary>
    public string TakeWindowLine(TimeSpan elapsed)
    {
        var seconds = Math.Max(elapsed.TotalSeconds, 0.001);
        string latency;
        if (windowLatencies.Count == 0)
        {
            latency = "latency n/a";
        }
        else
        {
            windowLatencies.Sort();
            latency = $"latency p50 {Percentiles.Of(windowLatencies, 50)} ms max {windowLatencies[^1]} ms";
        }
        var line = $"watch: {CameraId}  {Units.One(windowFrames / seconds)} fps  {latency}  {Width}x{Height}  {Units.Bytes(windowBytes / seconds)}/s";
        windowFrames = 0;
        windowBytes = 0;
        windowLatencies.Clear();
        return line;
    }

    /// <summary>Mean frame rate between the first and the last frame.</summary>
    public double MeanFps
    {
        get
        {
            if (Frames < 2) return 0;
            var span = Stopwatch.GetElapsedTime(firstFrameTimestamp, lastFrameTimestamp).TotalSeconds;
            return span > 0 ? (Frames - 1) / span : 0;
        }
    }

    /// <summary>Summary fragment: frames, mean fps, latency p50/p99.</summary>
    public string Summary()
    {
        string latency;
        if (allLatencies.Count == 0)
        {
            latency = "latency n/a";
        }
        else
        {
            var sorted = allLatencies.Order().ToList();
            latency = $"latency p50 {Percentiles.Of(sorted, 50)} ms p99 {Percentiles.Of(sorted, 99)} ms";
        }
        return $"{CameraId} {Frames} frames {Units.One(MeanFps)} fps {latency}";
    }
}
