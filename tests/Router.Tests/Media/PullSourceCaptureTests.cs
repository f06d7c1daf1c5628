using System.Collections.Concurrent;
using System.Diagnostics;
using OpenCvSharp;
using Router.Actors.Media;
using Router.Protocol;
using Xunit;

namespace Router.Tests.Media;

public sealed class PullSourceCaptureTests : IDisposable
{
    private static readonly TimeSpan FrameDeadline = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan StopDeadline = TimeSpan.FromSeconds(2);
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("router-media-tests-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void VideoFile_DeliversValid768x576JpegsAtAbout10Fps(bool asFileUri)
    {
        var path = TestMedia.SharedMediaPath("vtest.avi");
        var url = asFileUri ? new Uri(path).AbsoluteUri : path;
        var sink = new FrameSink(5);
        using var capture = new PullSourceCapture(url, 80, sink.Add);

        capture.Start();
        var delivered = sink.WaitForTarget(FrameDeadline);
        var stopTime = TimedStop(capture);

        Assert.True(delivered, $"only {sink.Count} frames within {FrameDeadline}");
        Assert.True(stopTime < StopDeadline, $"Stop took {stopTime}");
        Assert.False(capture.IsRunning);
        var frames = sink.Frames;
        Assert.Equal(Enumerable.Range(1, frames.Count).Select(i => (long)i), frames.Select(f => f.Sequence));
        foreach (var frame in frames)
        {
            Assert.True(JpegHeader.TryParse(frame.Jpeg, out var info, out var error), error);
            Assert.Equal(new JpegInfo(768, 576), info);
            Assert.Equal((768, 576), (frame.Width, frame.Height));
            // Wall-clock epoch ms (not a file position); a minute of slack either way survives a clock step.
            Assert.InRange(frame.TimestampMs, DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds());
        }
        // Paced at the file's 10 fps: four intervals take about 400 ms, not the few ms of decoding as fast as possible.
        // Measured on the monotonic clock: the wall clock (TimestampMs) can step mid-test (a CI VM's clock stepped 3.3 s
        // forward once during this 418 ms test).
        var arrivals = sink.Arrivals;
        Assert.InRange(Stopwatch.GetElapsedTime(arrivals[0], arrivals[4]).TotalMilliseconds, 250, 3000);
    }

    [Fact]
    public void ShortVideoFile_IsLoopedFromItsFirstFrame()
    {
        var clip = Path.Combine(_temp.FullName, "three-frames.avi");
        var source = TestMedia.ReadFrames(TestMedia.SharedMediaPath("vtest.avi"), 3);
        using (var writer = new VideoWriter(clip, VideoCaptureAPIs.FFMPEG, FourCC.XVID, 10, new Size(768, 576), true))
        {
            Assert.True(writer.IsOpened());
            source.ForEach(f => writer.Write(f));
        }
        source.ForEach(f => f.Dispose());
        var sink = new FrameSink(8);
        using var capture = new PullSourceCapture(clip, 90, sink.Add);

        capture.Start();
        var delivered = sink.WaitForTarget(FrameDeadline);
        capture.Stop();

        Assert.True(delivered, $"only {sink.Count} frames within {FrameDeadline}");
        var frames = sink.Frames;
        // Decoding is deterministic, so frame 4 (the first after the loop) is frame 1 again, byte for byte.
        Assert.True(frames[3].Jpeg.AsSpan().SequenceEqual(frames[0].Jpeg), "frame 4 is not frame 1 again");
        Assert.True(frames[6].Jpeg.AsSpan().SequenceEqual(frames[0].Jpeg), "frame 7 is not frame 1 again");
        Assert.False(frames[1].Jpeg.AsSpan().SequenceEqual(frames[0].Jpeg));
    }

    [Fact]
    public void DefaultTestPattern_Delivers640x480Frames()
    {
        var sink = new FrameSink(5);
        using var capture = new PullSourceCapture("testpattern:", 85, sink.Add);

        capture.Start();
        var delivered = sink.WaitForTarget(FrameDeadline);
        var stopTime = TimedStop(capture);

        Assert.True(delivered, $"only {sink.Count} frames within {FrameDeadline}");
        Assert.True(stopTime < StopDeadline, $"Stop took {stopTime}");
        foreach (var frame in sink.Frames)
        {
            Assert.True(JpegHeader.TryParse(frame.Jpeg, out var info, out var error), error);
            Assert.Equal(new JpegInfo(640, 480), info);
            Assert.Equal((640, 480), TestMedia.DecodedSize(frame.Jpeg));
        }
    }

    [Fact]
    public void SizedTestPattern_HasThatSizeAndMoves()
    {
        var sink = new FrameSink(3);
        using var capture = new PullSourceCapture("testpattern:320x240@20", 85, sink.Add);

        capture.Start();
        var delivered = sink.WaitForTarget(FrameDeadline);
        capture.Stop();

        Assert.True(delivered, $"only {sink.Count} frames within {FrameDeadline}");
        var frames = sink.Frames;
        Assert.All(frames, f => Assert.Equal((320, 240), TestMedia.DecodedSize(f.Jpeg)));
        using var first = Cv2.ImDecode(frames[0].Jpeg, ImreadModes.Color);
        using var second = Cv2.ImDecode(frames[1].Jpeg, ImreadModes.Color);
        // The colour bars (top 70 % of the frame) shift between frames.
        var bars = new Rect(0, 0, 320, 160);
        Assert.True(Cv2.Norm(first[bars], second[bars], NormTypes.L1) > 320 * 160, "the colour bars did not move");
    }

    [Fact]
    public void Capture_RunsOnOneDedicatedBackgroundThread_AndStartIsIdempotent()
    {
        var threads = new ConcurrentBag<(int Id, bool Pool, bool Background)>();
        var sink = new FrameSink(5);
        using var capture = new PullSourceCapture("testpattern:160x120@30", 85, frame =>
        {
            threads.Add((Environment.CurrentManagedThreadId, Thread.CurrentThread.IsThreadPoolThread, Thread.CurrentThread.IsBackground));
            sink.Add(frame);
        });

        capture.Start();
        capture.Start();
        Assert.True(capture.IsRunning);
        var delivered = sink.WaitForTarget(FrameDeadline);
        capture.Stop();

        Assert.True(delivered, $"only {sink.Count} frames within {FrameDeadline}");
        var thread = Assert.Single(threads.Distinct());
        Assert.NotEqual(Environment.CurrentManagedThreadId, thread.Id);
        Assert.False(thread.Pool);
        Assert.True(thread.Background);
        Assert.Equal(Enumerable.Range(1, sink.Count).Select(i => (long)i), sink.Frames.Select(f => f.Sequence));
    }

    [Fact]
    public void StartAfterStop_CapturesAgain_ContinuingTheSequence()
    {
        var sink = new FrameSink(2);
        using var capture = new PullSourceCapture("testpattern:160x120@30", 85, sink.Add);
        capture.Start();
        Assert.True(sink.WaitForTarget(FrameDeadline));
        capture.Stop();
        var before = sink.Count;

        capture.Start();

        Assert.True(capture.IsRunning);
        Assert.True(sink.WaitForCount(before + 2, FrameDeadline), "no frames after the restart");
        capture.Stop();
        Assert.Equal(Enumerable.Range(1, sink.Count).Select(i => (long)i), sink.Frames.Select(f => f.Sequence));
    }

    [Fact]
    public void Stop_InterruptsTheWaitBetweenFrames()
    {
        var sink = new FrameSink(1);
        using var capture = new PullSourceCapture("testpattern:64x48@1", 85, sink.Add);
        capture.Start();
        Assert.True(sink.WaitForTarget(FrameDeadline));

        var stopTime = TimedStop(capture);

        // At 1 fps the thread waits about a second for the next frame; Stop must cut that wait short.
        Assert.True(stopTime < TimeSpan.FromMilliseconds(500), $"Stop took {stopTime}");
        Assert.Equal(1, sink.Count);
    }

    [Fact]
    public void Stop_FromTheFrameCallback_EndsTheCapture()
    {
        var sink = new FrameSink(1);
        PullSourceCapture? capture = null;
        var stopTime = TimeSpan.MaxValue;
        using var stopped = new ManualResetEventSlim();
        capture = new PullSourceCapture("testpattern:160x120@30", 85, frame =>
        {
            sink.Add(frame);
            stopTime = TimedStop(capture!);
            stopped.Set();
        });
        using (capture)
        {
            capture.Start();

            Assert.True(stopped.Wait(FrameDeadline), "Stop from the callback did not return");
            Assert.True(stopTime < TimeSpan.FromMilliseconds(500), $"Stop took {stopTime}"); // it must not wait for its own thread
            Assert.False(capture.IsRunning);
            Assert.False(sink.WaitForCount(2, TimeSpan.FromMilliseconds(300)), "frames kept coming after Stop");
        }
    }

    [Fact]
    public void ThrowingCallback_DoesNotStopTheCapture()
    {
        var calls = 0;
        using var reachedThree = new ManualResetEventSlim();
        using var capture = new PullSourceCapture("testpattern:160x120@30", 85, _ =>
        {
            if (Interlocked.Increment(ref calls) >= 3) reachedThree.Set();
            throw new InvalidOperationException("callback failure");
        });

        capture.Start();
        var survived = reachedThree.Wait(FrameDeadline);
        capture.Stop();

        Assert.True(survived, $"only {calls} callbacks within {FrameDeadline}");
    }

    [Theory]
    [InlineData("/nonexistent/router-media-tests/missing.avi")]
    [InlineData("file:///nonexistent/router-media-tests/missing.avi")]
    [InlineData("http://127.0.0.1:9/router-media-tests/missing.mjpg")]
    public void UnavailableSource_StartsWithoutThrowing_AndStopsQuickly(string url)
    {
        var sink = new FrameSink(1);
        using var capture = new PullSourceCapture(url, 85, sink.Add);

        capture.Start();
        Assert.True(capture.IsRunning);
        var anyFrame = sink.WaitForTarget(TimeSpan.FromMilliseconds(300));
        var stopTime = TimedStop(capture);

        Assert.False(anyFrame);
        Assert.True(stopTime < StopDeadline, $"Stop took {stopTime}");
        Assert.False(capture.IsRunning);
    }

    [Fact]
    public void StopAndDispose_WithoutStart_DoNothing()
    {
        var capture = new PullSourceCapture("testpattern:", 85, _ => { });

        capture.Stop();
        capture.Dispose();

        Assert.False(capture.IsRunning);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("testpattern:abc")]
    [InlineData("testpattern:8x8")]
    [InlineData("testpattern:640x480@0")]
    [InlineData("testpattern:640x480@500")]
    [InlineData("webcam:")]
    [InlineData("webcam:front")]
    public void MalformedUrl_IsRefused(string url)
    {
        Assert.ThrowsAny<ArgumentException>(() => new PullSourceCapture(url, 85, _ => { }));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public void JpegQualityOutOfRange_IsRefused(int quality)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PullSourceCapture("testpattern:", quality, _ => { }));
    }

    private static TimeSpan TimedStop(PullSourceCapture capture)
    {
        var watch = Stopwatch.StartNew();
        capture.Stop();
        return watch.Elapsed;
    }

    /// <summary>Collects frames from the capture thread and lets the test wait, with a deadline, for a number of them.</summary>
    internal sealed class FrameSink(int target)
    {
        private readonly List<CapturedFrame> _frames = [];
        private readonly List<long> _arrivals = [];
        private readonly object _gate = new();

        public int Count
        {
            get
            {
                lock (_gate) return _frames.Count;
            }
        }

        public List<CapturedFrame> Frames
        {
            get
            {
                lock (_gate) return [.. _frames];
            }
        }

        /// <summary>Monotonic arrival time of each frame (<see cref="Stopwatch.GetTimestamp"/> ticks), in arrival order.</summary>
        public List<long> Arrivals
        {
            get
            {
                lock (_gate) return [.. _arrivals];
            }
        }

        public void Add(CapturedFrame frame)
        {
            var arrival = Stopwatch.GetTimestamp();
            lock (_gate)
            {
                _frames.Add(frame);
                _arrivals.Add(arrival);
                Monitor.PulseAll(_gate);
            }
        }

        public bool WaitForTarget(TimeSpan timeout) => WaitForCount(target, timeout);

        public bool WaitForCount(int count, TimeSpan timeout)
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            lock (_gate)
            {
                while (_frames.Count < count)
                {
                    var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                    if (left <= TimeSpan.Zero || !Monitor.Wait(_gate, left)) return _frames.Count >= count;
                }
                return true;
            }
        }
    }
}
