using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;
using Router.Protocol;

namespace Router.Actors.Media;

/// <summary>One frame captured by a <see cref="PullSourceCapture"/>.</summary>
/// <param name="Jpeg">The frame encoded as JPEG.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="TimestampMs">Wall-clock capture time, Unix epoch milliseconds.</param>
/// <param name="Sequence">1 for the first frame of a <see cref="PullSourceCapture"/>, then +1 per frame (also across file loops, reconnects and restarts).</param>
internal sealed record CapturedFrame(byte[] Jpeg, int Width, int Height, long TimestampMs, long Sequence);

/// <summary>
/// Pulls frames from a video source on a dedicated background thread, encodes each as JPEG and hands it to a callback.
/// </summary>
/// <remarks>
/// <para>Source URLs:</para>
/// <list type="bullet">
/// <item><description>a file path or <c>file://</c> URI: played at the file's own frame rate and looped forever;</description></item>
/// <item><description><c>rtsp://…</c>, <c>http://…</c>, <c>https://…</c>: read by an <c>ffmpeg</c> child process (see
/// <see cref="FfmpegChild"/>) as fast as the source delivers, MJPEG passed through without transcoding; a connection that
/// delivers no frame for <see cref="ReadDeadline"/> (the first within <see cref="FirstFrameDeadline"/>) is killed and reopened;</description></item>
/// <item><description><c>webcam:N</c>: the local capture device with index N, handled like a stream;</description></item>
/// <item><description><c>testpattern:</c> or <c>testpattern:WxH@fps</c>: generated moving colour bars with a frame counter and a clock,
/// 640x480 at 10 fps by default (the fallback demo source).</description></item>
/// </list>
/// <para>Files are opened with OpenCV's FFmpeg backend (whose bundled FFmpeg has no network protocols). A source that fails,
/// ends or cannot be opened is reopened after a capped exponential backoff with jitter (<see cref="RetryBackoff"/>). The frame rate is the source's <c>CAP_PROP_FPS</c> when it is within 1–120, else 10. Errors never escape
/// the capture thread: they are logged, including exceptions thrown by the callback.</para>
/// <para>The callback runs on the capture thread and should return quickly (for example by sending a message to an actor).</para>
/// </remarks>
internal sealed partial class PullSourceCapture : IDisposable
{
    private const int DefaultFps = 10;
    private const int MaxFps = 120;
    private const int TestPatternDefaultWidth = 640;
    private const int TestPatternDefaultHeight = 480;
    private const int TestPatternMaxSide = 4096;
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(1.5);

    /// <summary>The URL as logged: without user name and password.</summary>
    private readonly string _url;
    private readonly SourceSpec _source;
    private readonly ImageEncodingParam _jpegQuality;
    private readonly int _ffmpegQscale;
    private readonly int _maxFrameBytes;
    private readonly RetryBackoff _backoff = new();
    private readonly Action<CapturedFrame> _onFrame;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private Thread? _thread;
    private CancellationTokenSource? _stop;
    private long _sequence;
    private volatile FfmpegChild? _child; // the running ffmpeg child of a network source
    private volatile bool _transcode; // the stream is not MJPEG: ffmpeg encodes (sticky for this capture)

    /// <summary>Creates a capture; nothing is opened until <see cref="Start"/>.</summary>
    /// <param name="url">The source (see the remarks of <see cref="PullSourceCapture"/>).</param>
    /// <param name="jpegQuality">JPEG quality of the encoded frames, 1–100.</param>
    /// <param name="onFrame">Called on the capture thread with every frame.</param>
    /// <param name="logger">Receives warnings about failing sources; none when null.</param>
    /// <param name="maxFrameBytes">The largest JPEG accepted from an <c>ffmpeg</c> stream, in bytes (at least 64); a larger one ends the connection.</param>
    /// <exception cref="ArgumentException"><paramref name="url"/> is empty, or a <c>webcam:</c> or <c>testpattern:</c> URL is malformed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="jpegQuality"/> is outside 1–100, or <paramref name="maxFrameBytes"/> below 64.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="onFrame"/> is null.</exception>
    public PullSourceCapture(string url, int jpegQuality, Action<CapturedFrame> onFrame, ILogger? logger = null, int maxFrameBytes = 16 * 1024 * 1024)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        ArgumentOutOfRangeException.ThrowIfLessThan(jpegQuality, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(jpegQuality, 100);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFrameBytes, 64);
        ArgumentNullException.ThrowIfNull(onFrame);
        _source = SourceSpec.Parse(url.Trim());
        _url = Redact(url.Trim());
        _jpegQuality = new ImageEncodingParam(ImwriteFlags.JpegQuality, jpegQuality);
        _ffmpegQscale = FfmpegQscale(jpegQuality);
        _maxFrameBytes = maxFrameBytes;
        _onFrame = onFrame;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>A network connection that delivers no frame for this long is killed and reopened (default 5 s).</summary>
    public TimeSpan ReadDeadline { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A network connection that delivers no first frame within this long is killed and reopened (default 15 s).</summary>
    public TimeSpan FirstFrameDeadline { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The id of the running <c>ffmpeg</c> child, or null when none runs (for tests and diagnostics).</summary>
    public int? FfmpegProcessId => _child?.Id;

    /// <summary>True when the source turned out not to be MJPEG, so <c>ffmpeg</c> encodes it (false: passed through).</summary>
    public bool Transcoding => _transcode;

    /// <summary>True from <see cref="Start"/> until <see cref="Stop"/>.</summary>
    public bool IsRunning
    {
        get
        {
            lock (_gate) return _thread is not null;
        }
    }

    /// <summary>Starts the capture thread. Does nothing when already running; after <see cref="Stop"/> it starts anew.</summary>
    /// <remarks>Never throws for an unreachable or missing source: that is retried on the capture thread.</remarks>
    public void Start()
    {
        lock (_gate)
        {
            if (_thread is not null) return;
            _stop = new CancellationTokenSource();
            var token = _stop.Token;
            _thread = new Thread(() => Run(token)) { IsBackground = true, Name = $"capture {_url}" };
            _thread.Start();
        }
    }

    /// <summary>
    /// Signals the capture thread to stop and waits for it, at most 1.5 s. Does nothing when not running. May be called
    /// from the frame callback, which then does not wait.
    /// </summary>
    /// <remarks>
    /// A network source's <c>ffmpeg</c> child (with its process tree) is killed at once, which ends the thread's read;
    /// the thread then reaps the child before it ends. A webcam read blocked in native code may outlive the wait; it then
    /// ends by itself when that call returns, without delivering the frame.
    /// </remarks>
    public void Stop()
    {
        Thread thread;
        CancellationTokenSource stop;
        lock (_gate)
        {
            if (_thread is null || _stop is null) return;
            thread = _thread;
            stop = _stop;
            _thread = null;
            _stop = null;
        }
        stop.Cancel();
        if (thread == Thread.CurrentThread) return; // called from the frame callback: the thread ends when it returns
        if (thread.Join(StopTimeout)) stop.Dispose();
        else _logger.LogWarning("Capture from {Url}: the capture thread is still blocked in a read; it ends when the read returns", _url);
    }

    /// <summary>Stops the capture (see <see cref="Stop"/>).</summary>
    public void Dispose() => Stop();

    private static string Redact(string url)
    {
        var start = url.IndexOf("://", StringComparison.Ordinal) + 3;
        if (start < 3) return url;
        var end = url.IndexOfAny(['/', '?', '#'], start);
        var at = url.LastIndexOf('@', end < 0 ? url.Length - 1 : end - 1, (end < 0 ? url.Length : end) - start);
        return at < 0 ? url : string.Concat(url.AsSpan(0, start), "***", url.AsSpan(at));
    }

    private void Run(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            try
            {
                if (_source.Kind == SourceKind.TestPattern) RunTestPattern(token);
                else if (_source.Kind == SourceKind.Stream) RunFfmpeg(token);
                else RunVideoCapture(token);
            }
            catch (Exception ex) when (!token.IsCancellationRequested)
            {
                var delay = _backoff.NextDelay();
                _logger.LogWarning(ex, "Capture from {Url} failed; retrying in {Delay}", _url, delay);
                token.WaitHandle.WaitOne(delay);
            }
            catch (Exception)
            {
                // Stopping; whatever failed no longer matters.
            }
        }
    }

    /// <summary>Waits out the next backoff step (interrupted by Stop) after logging why.</summary>
    private void Retry(CancellationToken token, string what)
    {
        if (token.IsCancellationRequested) return;
        var delay = _backoff.NextDelay();
        _logger.LogWarning("Capture from {Url}: {What}; reopening in {Delay}", _url, what, delay);
        token.WaitHandle.WaitOne(delay);
    }

    /// <summary>One connection through an ffmpeg child: returns when it ends (after the backoff wait) or on Stop.</summary>
    private void RunFfmpeg(CancellationToken token)
    {
        var copy = !_transcode;
        FfmpegChild child;
        try
        {
            child = FfmpegChild.Start(_source.Location, _url, copy, _ffmpegQscale);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Retry(token, $"cannot start {FfmpegChild.Executable} ({ex.Message}); is it installed?");
            return;
        }
        _child = child;
        var why = "the stream ended";
        long frames = 0;
        long firstFrameAt = 0, lastFrameAt = 0;
        var stalled = 0;
        using var watchdog = new Timer(_ =>
        {
            Interlocked.Exchange(ref stalled, 1);
            child.Kill();
        }, null, FirstFrameDeadline, Timeout.InfiniteTimeSpan);
        try
        {
            using var onStop = token.Register(child.Kill);
            var reader = new MjpegStreamReader(child.Output, _maxFrameBytes);
            if (copy && reader.StartsWithSoi() == false)
            {
                // -c:v copy wrote something that is not JPEG: the source is H.264 or the like. Encode instead, at once.
                _transcode = true;
                _logger.LogInformation("Capture from {Url}: the source is not MJPEG; ffmpeg encodes it to JPEG (q:v {Qscale})", _url, _ffmpegQscale);
                return;
            }
            while (!token.IsCancellationRequested && reader.ReadFrame() is { } jpeg)
            {
                watchdog.Change(ReadDeadline, Timeout.InfiniteTimeSpan);
                if (!JpegHeader.TryParse(jpeg, out var info, out var error))
                {
                    _logger.LogDebug("Capture from {Url}: skipped an invalid JPEG from ffmpeg: {Error}", _url, error);
                    continue;
                }
                lastFrameAt = Environment.TickCount64;
                if (frames++ == 0) firstFrameAt = lastFrameAt;
                if (token.IsCancellationRequested) return;
                DeliverJpeg(jpeg, info.Width, info.Height);
            }
        }
        catch (InvalidDataException ex)
        {
            why = $"the stream is not a valid MJPEG stream ({ex.Message})";
        }
        catch (IOException ex)
        {
            why = $"reading the stream failed ({ex.Message})";
        }
        finally
        {
            _child = null;
            child.Dispose();
        }
        if (token.IsCancellationRequested) return;
        if (Volatile.Read(ref stalled) == 1)
            why = frames == 0 ? $"no frame within {FirstFrameDeadline.TotalSeconds:0.#} s" : $"no frame for {ReadDeadline.TotalSeconds:0.#} s (stalled)";
        var errors = child.LastErrors;
        _backoff.Succeeded(TimeSpan.FromMilliseconds(lastFrameAt - firstFrameAt));
        Retry(token, $"{why} after {frames} frames{(errors.Length > 0 ? $"; ffmpeg: {errors}" : "")}");
    }

    /// <summary>
    /// ffmpeg's MJPEG <c>-q:v</c> (2 best – 31 worst) for a JPEG quality of 1–100: libjpeg's table scale in percent
    /// (quality ≥ 50: 200 − 2 × quality, else 5000 / quality) divided by 15, within 2–31. So 85 and above → 2, 75 → 3,
    /// 50 → 7, 25 → 13, 10 and below → 31. Calibrated on lobby.avi: q:v 2 gives 84 KB frames, OpenCV at 85 gives 84 KB.
    /// </summary>
    internal static int FfmpegQscale(int jpegQuality)
    {
        var scalePercent = jpegQuality >= 50 ? 200 - 2 * jpegQuality : 5000.0 / jpegQuality;
        return Math.Clamp((int)Math.Round(scalePercent / 15), 2, 31);
    }

    private void RunVideoCapture(CancellationToken token)
    {
        using var capture = Open();
        if (token.IsCancellationRequested) return;
        if (!capture.IsOpened())
        {
            Retry(token, "cannot open the source");
            return;
        }
        var openedAt = Environment.TickCount64;

        var fps = capture.Fps is >= 1 and <= MaxFps ? capture.Fps : DefaultFps;
        var pacer = _source.Kind == SourceKind.File ? new Pacer(fps) : null;
        using var frame = new Mat();
        var rewound = false;
        while (!token.IsCancellationRequested)
        {
            if (capture.Read(frame) && !frame.Empty())
            {
                rewound = false;
                if (token.IsCancellationRequested) return;
                Deliver(frame);
                pacer?.WaitForNext(token);
                continue;
            }
            if (_source.Kind != SourceKind.File)
            {
                _backoff.Succeeded(TimeSpan.FromMilliseconds(Environment.TickCount64 - openedAt));
                Retry(token, "the stream ended or failed");
                return;
            }
            if (rewound)
            {
                Retry(token, "no frame can be read from the file");
                return;
            }
            rewound = true;
            capture.Set(VideoCaptureProperties.PosFrames, 0);
        }
    }

    private VideoCapture Open() => _source.Kind switch
    {
        SourceKind.Webcam => new VideoCapture(_source.DeviceIndex, VideoCaptureAPIs.ANY),
        _ => new VideoCapture(_source.Location, VideoCaptureAPIs.FFMPEG),
    };

    private void RunTestPattern(CancellationToken token)
    {
        var (width, height, fps) = (_source.Width, _source.Height, _source.Fps);
        using var bars = CreateColourBars(width, height);
        using var frame = new Mat(height, width, MatType.CV_8UC3);
        var pacer = new Pacer(fps);
        var textScale = Math.Min(width / 640.0, height / 480.0);
        var thickness = Math.Max(1, (int)Math.Round(2 * textScale));
        var box = new Rect(0, height * 7 / 10, width, height - height * 7 / 10);
        var line1 = new Point(width / 64, box.Y + box.Height * 2 / 5);
        var line2 = new Point(width / 64, box.Y + box.Height * 4 / 5);
        var shiftPerFrame = Math.Max(1, (int)Math.Round(width / (4.0 * fps))); // the bars travel one width in 4 s
        for (long n = 0; !token.IsCancellationRequested; n++)
        {
            bars[new Rect((int)(n * shiftPerFrame % width), 0, width, height)].CopyTo(frame);
            Cv2.Rectangle(frame, box, Scalar.Black, -1);
            Cv2.PutText(frame, $"Router test pattern  #{n + 1}", line1,
                HersheyFonts.HersheySimplex, textScale, Scalar.White, thickness, LineTypes.AntiAlias);
            Cv2.PutText(frame, DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm:ss.fff 'UTC'", CultureInfo.InvariantCulture), line2,
                HersheyFonts.HersheySimplex, textScale, Scalar.White, thickness, LineTypes.AntiAlias);
            Deliver(frame);
            pacer.WaitForNext(token);
        }
    }

    /// <summary>Eight vertical SMPTE-style bars, drawn twice side by side so that any window of one width is a shifted pattern.</summary>
    private static Mat CreateColourBars(int width, int height)
    {
        Scalar[] colours =
        [
            new(255, 255, 255), new(0, 255, 255), new(255, 255, 0), new(0, 255, 0),
            new(255, 0, 255), new(0, 0, 255), new(255, 0, 0), new(0, 0, 0),
        ];
        var bars = new Mat(height, 2 * width, MatType.CV_8UC3, Scalar.Black);
        for (var copy = 0; copy < 2; copy++)
        {
            for (var i = 0; i < colours.Length; i++)
            {
                var x0 = copy * width + i * width / colours.Length;
                var x1 = copy * width + (i + 1) * width / colours.Length;
                Cv2.Rectangle(bars, new Rect(x0, 0, x1 - x0, height), colours[i], -1);
            }
        }
        return bars;
    }

    private void Deliver(Mat frame)
    {
        Cv2.ImEncode(".jpg", frame, out var jpeg, _jpegQuality);
        DeliverJpeg(jpeg, frame.Width, frame.Height);
    }

    private void DeliverJpeg(byte[] jpeg, int width, int height)
    {
        var sequence = Interlocked.Increment(ref _sequence);
        var captured = new CapturedFrame(jpeg, width, height, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), sequence);
        try
        {
            _onFrame(captured);
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Capture from {Url}: the frame callback failed for frame {Sequence}", _url, captured.Sequence);
        }
    }

    /// <summary>Paces a loop at a fixed rate; waits on the stop token so that stopping interrupts the wait.</summary>
    private sealed class Pacer(double fps)
    {
        private readonly long _periodTicks = (long)(Stopwatch.Frequency / fps);
        private long _due = Stopwatch.GetTimestamp();

        public void WaitForNext(CancellationToken token)
        {
            _due += _periodTicks;
            var now = Stopwatch.GetTimestamp();
            if (_due <= now)
            {
                // Behind schedule (slow encode or callback): carry on from now rather than bursting to catch up.
                _due = now;
                return;
            }
            token.WaitHandle.WaitOne(Stopwatch.GetElapsedTime(now, _due));
        }
    }

    private enum SourceKind
    {
        File,
        Stream,
        Webcam,
        TestPattern,
    }

    private sealed record SourceSpec(SourceKind Kind, string Location, int DeviceIndex = 0,
        int Width = TestPatternDefaultWidth, int Height = TestPatternDefaultHeight, double Fps = DefaultFps)
    {
        private const string TestPatternScheme = "testpattern:";
        private const string WebcamScheme = "webcam:";

        public static SourceSpec Parse(string url)
        {
            if (url.StartsWith(TestPatternScheme, StringComparison.OrdinalIgnoreCase))
                return ParseTestPattern(url, url[TestPatternScheme.Length..]);
            if (url.StartsWith(WebcamScheme, StringComparison.OrdinalIgnoreCase))
            {
                var index = url[WebcamScheme.Length..];
                return int.TryParse(index, NumberStyles.None, CultureInfo.InvariantCulture, out var device)
                    ? new SourceSpec(SourceKind.Webcam, url, DeviceIndex: device)
                    : throw new ArgumentException($"'{url}' is not a valid webcam URL; expected webcam:N with a device index N", nameof(url));
            }
            if (url.StartsWith("rtsp://", StringComparison.OrdinalIgnoreCase) ||
                url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ||
                url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
                return new SourceSpec(SourceKind.Stream, url);
            if (url.StartsWith("file:", StringComparison.OrdinalIgnoreCase) && Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.IsFile)
                return new SourceSpec(SourceKind.File, uri.LocalPath);
            return new SourceSpec(SourceKind.File, url);
        }

        private static SourceSpec ParseTestPattern(string url, string spec)
        {
            if (spec.Length == 0) return new SourceSpec(SourceKind.TestPattern, url);
            var match = TestPatternSpec().Match(spec);
            if (!match.Success) throw Invalid();
            var width = int.Parse(match.Groups["w"].ValueSpan, CultureInfo.InvariantCulture);
            var height = int.Parse(match.Groups["h"].ValueSpan, CultureInfo.InvariantCulture);
            var fps = match.Groups["fps"].Success ? int.Parse(match.Groups["fps"].ValueSpan, CultureInfo.InvariantCulture) : DefaultFps;
            if (width is < 16 or > TestPatternMaxSide || height is < 16 or > TestPatternMaxSide || fps is < 1 or > MaxFps) throw Invalid();
            return new SourceSpec(SourceKind.TestPattern, url, Width: width, Height: height, Fps: fps);

            ArgumentException Invalid() => new(
                $"'{url}' is not a valid test pattern URL; expected testpattern: or testpattern:WxH@fps (16–{TestPatternMaxSide} pixels, 1–{MaxFps} fps)",
                nameof(url));
        }
    }

    [GeneratedRegex(@"^(?<w>\d{1,5})x(?<h>\d{1,5})(?:@(?<fps>\d{1,3}))?$", RegexOptions.CultureInvariant)]
    private static partial Regex TestPatternSpec();
}
