using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;

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
/// <item><description><c>rtsp://…</c>, <c>http://…</c>, <c>https://…</c>: read as fast as the source delivers; when it fails or ends the
/// capture logs a warning and reopens it every 2 s;</description></item>
/// <item><description><c>webcam:N</c>: the local capture device with index N, handled like a stream;</description></item>
/// <item><description><c>testpattern:</c> or <c>testpattern:WxH@fps</c>: generated moving colour bars with a frame counter and a clock,
/// 640x480 at 10 fps by default (the fallback demo source).</description></item>
/// </list>
/// <para>Files and streams are opened with OpenCV's FFmpeg backend; a file that is missing or cannot be opened is retried every
/// 2 s like a stream. The frame rate is the source's <c>CAP_PROP_FPS</c> when it is within 1–120, else 10. Errors never escape
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
    private const int OpenTimeoutMs = 5_000;
    private const int ReadTimeoutMs = 5_000;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(1.5);

    // OpenCV's CAP_PROP_OPEN_TIMEOUT_MSEC and CAP_PROP_READ_TIMEOUT_MSEC, which OpenCvSharp's enum does not name.
    private const int CapPropOpenTimeoutMsec = 53;
    private const int CapPropReadTimeoutMsec = 54;

    /// <summary>The URL as logged: without user name and password.</summary>
    private readonly string _url;
    private readonly SourceSpec _source;
    private readonly ImageEncodingParam _jpegQuality;
    private readonly Action<CapturedFrame> _onFrame;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private Thread? _thread;
    private CancellationTokenSource? _stop;
    private long _sequence;

    /// <summary>Creates a capture; nothing is opened until <see cref="Start"/>.</summary>
    /// <param name="url">The source (see the remarks of <see cref="PullSourceCapture"/>).</param>
    /// <param name="jpegQuality">JPEG quality of the encoded frames, 1–100.</param>
    /// <param name="onFrame">Called on the capture thread with every frame.</param>
    /// <param name="logger">Receives warnings about failing sources; none when null.</param>
    /// <exception cref="ArgumentException"><paramref name="url"/> is empty, or a <c>webcam:</c> or <c>testpattern:</c> URL is malformed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="jpegQuality"/> is outside 1–100.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="onFrame"/> is null.</exception>
    public PullSourceCapture(string url, int jpegQuality, Action<CapturedFrame> onFrame, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        ArgumentOutOfRangeException.ThrowIfLessThan(jpegQuality, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(jpegQuality, 100);
        ArgumentNullException.ThrowIfNull(onFrame);
        _source = SourceSpec.Parse(url.Trim());
        _url = Redact(url.Trim());
        _jpegQuality = new ImageEncodingParam(ImwriteFlags.JpegQuality, jpegQuality);
        _onFrame = onFrame;
        _logger = logger ?? NullLogger.Instance;
    }

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
    /// A thread blocked inside a native open or read of a stalled network stream may outlive the wait; it then ends by
    /// itself when that call returns or times out (after 5 s), without delivering the frame.
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
                else RunVideoCapture(token);
            }
            catch (Exception ex) when (!token.IsCancellationRequested)
            {
                _logger.LogWarning(ex, "Capture from {Url} failed; retrying in {Delay}", _url, RetryDelay);
                token.WaitHandle.WaitOne(RetryDelay);
            }
            catch (Exception)
            {
                // Stopping; whatever failed no longer matters.
            }
        }
    }

    private void RunVideoCapture(CancellationToken token)
    {
        using var capture = Open();
        if (token.IsCancellationRequested) return;
        if (!capture.IsOpened())
        {
            _logger.LogWarning("Capture from {Url}: cannot open the source; retrying in {Delay}", _url, RetryDelay);
            token.WaitHandle.WaitOne(RetryDelay);
            return;
        }

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
                _logger.LogWarning("Capture from {Url}: the stream ended or failed; reopening in {Delay}", _url, RetryDelay);
                token.WaitHandle.WaitOne(RetryDelay);
                return;
            }
            if (rewound)
            {
                _logger.LogWarning("Capture from {Url}: no frame can be read from the file; reopening in {Delay}", _url, RetryDelay);
                token.WaitHandle.WaitOne(RetryDelay);
                return;
            }
            rewound = true;
            capture.Set(VideoCaptureProperties.PosFrames, 0);
        }
    }

    private VideoCapture Open() => _source.Kind switch
    {
        SourceKind.Webcam => new VideoCapture(_source.DeviceIndex, VideoCaptureAPIs.ANY),
        SourceKind.File => new VideoCapture(_source.Location, VideoCaptureAPIs.FFMPEG),
        _ => new VideoCapture(_source.Location, VideoCaptureAPIs.FFMPEG,
            [CapPropOpenTimeoutMsec, OpenTimeoutMs, CapPropReadTimeoutMsec, ReadTimeoutMs]),
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
        var sequence = Interlocked.Increment(ref _sequence);
        var captured = new CapturedFrame(jpeg, frame.Width, frame.Height, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), sequence);
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
