using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Media;
using Router.Actors.Messages;
using Router.Protocol;
using Router.Tests.Support;
using Xunit;
using FrameSink = Router.Tests.Media.PullSourceCaptureTests.FrameSink;

namespace Router.Tests.Media;

/// <summary>
/// rtsp:// and http:// pull sources against real servers on 127.0.0.1 (Debian's ffmpeg, GStreamer's RTSP server),
/// read through the ffmpeg child of <see cref="PullSourceCapture"/>.
/// </summary>
public sealed class NetworkPullSourceTests
{
    private static readonly TimeSpan FrameDeadline = TimeSpan.FromSeconds(15);

    [Fact]
    public void HttpMultipartMjpeg_IsPassedThrough_ReconnectsWhenTheServerComesBack_AndLeavesNoChildAfterStop()
    {
        var server = TestStreamServer.HttpMjpeg();
        var sink = new FrameSink(3);
        using var capture = new PullSourceCapture($"http://127.0.0.1:{server.Port}/cam.mjpg", 85, sink.Add);
        try
        {
            capture.Start();
            Assert.True(sink.WaitForTarget(FrameDeadline), $"only {sink.Count} frames within {FrameDeadline}");
            Assert.False(capture.Transcoding); // the source is MJPEG: ffmpeg copies it (-c:v copy)
            AssertValidFrames(sink.Frames, 768, 576);
            var firstChild = Assert.IsType<int>(capture.FfmpegProcessId);

            // The server goes away (ffmpeg's -listen 1 serves one client, so a new one stands in for it on the same port).
            server.Dispose();
            WaitUntil(() => ProcessGone(firstChild), "the ffmpeg child did not end with its stream");
            server = TestStreamServer.HttpMjpeg(server.Port);
            var before = sink.Count;
            Assert.True(sink.WaitForCount(before + 3, FrameDeadline), "no frames after the server came back");
            var secondChild = Assert.IsType<int>(capture.FfmpegProcessId);
            Assert.NotEqual(firstChild, secondChild);

            capture.Stop();

            Assert.False(capture.IsRunning);
            Assert.Null(capture.FfmpegProcessId);
            Assert.True(ProcessGone(secondChild), $"ffmpeg {secondChild} still exists after Stop");
            Assert.DoesNotContain(secondChild, FfmpegChild.LiveIds);
            Assert.Equal(Enumerable.Range(1, sink.Count).Select(i => (long)i), sink.Frames.Select(f => f.Sequence));
        }
        finally
        {
            server.Dispose();
        }
    }

    [Theory]
    [InlineData("mjpeg", false)]
    [InlineData("h264", true)]
    public void Rtsp_DeliversJpegs_CopyingMjpegAndEncodingH264_AndLeavesNoChildAfterStop(string path, bool transcoded)
    {
        using var server = TestStreamServer.Rtsp();
        var sink = new FrameSink(5);
        using var capture = new PullSourceCapture($"rtsp://127.0.0.1:{server.Port}/{path}", 85, sink.Add);

        capture.Start();
        Assert.True(sink.WaitForTarget(FrameDeadline), $"only {sink.Count} frames within {FrameDeadline}");
        var child = Assert.IsType<int>(capture.FfmpegProcessId);
        capture.Stop();

        Assert.Equal(transcoded, capture.Transcoding);
        AssertValidFrames(sink.Frames, 320, 240);
        Assert.True(ProcessGone(child), $"ffmpeg {child} still exists after Stop");
        Assert.DoesNotContain(child, FfmpegChild.LiveIds);
    }

    [Fact]
    public void RtspServerGoingAwayAndComingBack_TheCaptureReconnects()
    {
        var server = TestStreamServer.Rtsp();
        var sink = new FrameSink(3);
        using var capture = new PullSourceCapture($"rtsp://127.0.0.1:{server.Port}/mjpeg", 85, sink.Add) { ReadDeadline = TimeSpan.FromSeconds(2) };
        try
        {
            capture.Start();
            Assert.True(sink.WaitForTarget(FrameDeadline), $"only {sink.Count} frames within {FrameDeadline}");
            var firstChild = Assert.IsType<int>(capture.FfmpegProcessId);

            server.Dispose();
            WaitUntil(() => ProcessGone(firstChild), "the ffmpeg child was not ended after the server went away");
            server = TestStreamServer.Rtsp(server.Port);
            var before = sink.Count;

            Assert.True(sink.WaitForCount(before + 3, FrameDeadline), "no frames after the server came back");
            AssertValidFrames(sink.Frames, 320, 240);
        }
        finally
        {
            capture.Stop();
            server.Dispose();
        }
    }

    [Fact]
    public void SilentServer_TheChildIsKilledAtTheReadDeadline_AndTheSourceReopened()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var accepted = new List<Socket>();
        using var capture = new PullSourceCapture($"http://127.0.0.1:{port}/cam.mjpg", 85, _ => { })
        {
            FirstFrameDeadline = TimeSpan.FromSeconds(1),
        };
        try
        {
            capture.Start();
            // The server accepts and never answers: ffmpeg waits for a response until the capture's deadline kills it.
            accepted.Add(AcceptWithin(listener, FrameDeadline));
            int? firstChild = null;
            WaitUntil(() => (firstChild = capture.FfmpegProcessId) is not null, "no ffmpeg child");
            accepted.Add(AcceptWithin(listener, FrameDeadline)); // the second connection: killed, backed off, reopened

            Assert.True(ProcessGone(firstChild!.Value), $"the stalled ffmpeg {firstChild} still exists");
        }
        finally
        {
            capture.Stop();
            accepted.ForEach(s => s.Dispose());
        }
    }

    private static Socket AcceptWithin(TcpListener listener, TimeSpan timeout)
    {
        var accept = listener.AcceptSocketAsync();
        Assert.True(accept.Wait(timeout), $"no connection within {timeout}");
        return accept.Result;
    }

    internal static void AssertValidFrames(IEnumerable<CapturedFrame> frames, int width, int height)
    {
        foreach (var frame in frames)
        {
            Assert.True(JpegHeader.TryParse(frame.Jpeg, out var info, out var error), error);
            Assert.Equal(new JpegInfo(width, height), info);
            Assert.Equal((width, height), (frame.Width, frame.Height));
            Assert.Equal((width, height), TestMedia.DecodedSize(frame.Jpeg));
        }
    }

    /// <summary>True when no process (not even a zombie awaiting its reaping) has this id.</summary>
    internal static bool ProcessGone(int pid) => !Directory.Exists($"/proc/{pid}");

    internal static void WaitUntil(Func<bool> condition, string failure)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < FrameDeadline, $"{failure} within {FrameDeadline}");
            Thread.Sleep(20); // polling interval, bounded by the deadline
        }
    }
}

/// <summary>The camera entity starts an RTSP pull source's ffmpeg child with its first subscription and ends it after its last.</summary>
public sealed class NetworkPullCameraTests() : TestKit(RouterTestConfig.SerializeEverything)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Fact]
    public void An_rtsp_pull_source_runs_its_ffmpeg_child_only_while_the_camera_has_subscriptions()
    {
        using var server = TestStreamServer.Rtsp();
        var key = new StreamKey("acme", "yard", "gate");
        var url = $"rtsp://127.0.0.1:{server.Port}/mjpeg";
        var catalog = new PullSourceCatalog([new PullSourceDefinition(key, url)]);
        var camera = ChildActorOf(CameraActor.Props(key.EntityId, new CameraOptions(), catalog, CreateTestProbe().Ref));
        Assert.Empty(ChildrenReading(url)); // lazy: nothing runs before the first subscription

        var viewer = CreateTestProbe();
        camera.Tell(new Subscribe(key, "v", viewer.Ref, 0));
        viewer.ExpectMsg<SubscriptionStarted>(Wait);
        viewer.Reply(StreamAck.Instance);
        for (var i = 0; i < 3; i++)
        {
            var frame = viewer.ExpectMsg<VideoFrame>(Wait);
            Assert.Equal((320, 240), (frame.Width, frame.Height));
            viewer.Reply(StreamAck.Instance);
        }
        var children = ChildrenReading(url);
        Assert.Single(children);

        camera.Tell(new Unsubscribe(key, "v"));

        NetworkPullSourceTests.WaitUntil(() => ChildrenReading(url).Count == 0 && children.All(NetworkPullSourceTests.ProcessGone),
            "the ffmpeg child outlived the last subscription");
    }

    /// <summary>The live ffmpeg children of this process whose command line holds <paramref name="url"/>.</summary>
    private static List<int> ChildrenReading(string url) => FfmpegChild.LiveIds
        .Where(pid => !NetworkPullSourceTests.ProcessGone(pid) && ReadCommandLine(pid).Contains(url, StringComparison.Ordinal))
        .ToList();

    private static string ReadCommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return ""; // exited meanwhile
        }
    }
}
