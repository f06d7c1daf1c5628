using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.TestKit.Xunit2;
using Router.Actors.Camera;
using Router.Actors.Directory;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Actors;

/// <summary>The camera entity with real frames; INFO logging, so that tests can count the "pull capture started" events.</summary>
public sealed class CameraActorTests() : TestKit(Akka.Configuration.ConfigurationFactory.ParseString("akka.loglevel = INFO").WithFallback(RouterTestConfig.SerializeEverything))
{
    private static readonly StreamKey Key = new("acme", "robot-01", "front");
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private IActorRef NewCamera(out Akka.TestKit.TestProbe directory, CameraOptions? options = null, PullSourceCatalog? pull = null, StreamKey? key = null)
    {
        directory = CreateTestProbe();
        return ChildActorOf(CameraActor.Props((key ?? Key).EntityId, options ?? new CameraOptions(), pull ?? PullSourceCatalog.Empty, directory.Ref));
    }

    private static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    [Fact]
    public void Accepts_a_real_frame_reading_size_from_the_SOF_header_and_publishes_online_status()
    {
        var camera = NewCamera(out var directory);
        var jpeg = TestFrames.Vtest[0];
        camera.Tell(new IngestFrame(Key, jpeg, NowMs, "linux"));
        var accepted = ExpectMsg<FrameAccepted>(Wait);
        Assert.Equal(new FrameAccepted(TestFrames.Width, TestFrames.Height, jpeg.Length, false), accepted);
        var status = directory.FishForMessage<PublishCameraStatus>(p => p.Status.Online, Wait).Status;
        Assert.Equal((Key, "linux", 768, 576), (status.Key, status.Platform, status.Width, status.Height));
    }

    [Fact]
    public void Rejects_what_is_not_a_JPEG_and_what_is_over_the_hard_limit()
    {
        var camera = NewCamera(out _);
        camera.Tell(new IngestFrame(Key, "not a jpeg at all"u8.ToArray(), NowMs, null));
        Assert.Equal(FrameRejectReason.NotJpeg, ExpectMsg<FrameRejected>(Wait).Reason);
        var truncated = TestFrames.Vtest[0][..5000];
        camera.Tell(new IngestFrame(Key, truncated, NowMs, null));
        Assert.Equal(FrameRejectReason.NotJpeg, ExpectMsg<FrameRejected>(Wait).Reason);
        camera.Tell(new IngestFrame(Key, new byte[1_048_577], NowMs, null));
        Assert.Equal(FrameRejectReason.TooLarge, ExpectMsg<FrameRejected>(Wait).Reason);
        // The entity keeps working after bad input.
        camera.Tell(new IngestFrame(Key, TestFrames.Vtest[0], NowMs, null));
        ExpectMsg<FrameAccepted>(Wait);
    }

    [Fact]
    public void Re_encodes_a_900_KB_frame_below_the_pass_through_limit_off_the_actor_thread()
    {
        var camera = NewCamera(out _);
        var big = LargeJpegs.Between(850_000, 1_000_000);
        camera.Tell(new IngestFrame(Key, big, NowMs, null));
        var accepted = ExpectMsg<FrameAccepted>(TimeSpan.FromSeconds(30));
        Assert.True(accepted.Reencoded);
        Assert.InRange(accepted.Bytes, 1, 750_000);
        camera.Tell(new GetSnapshot(Key));
        var frame = ExpectMsg<Snapshot>(Wait).Frame!;
        Assert.Equal(accepted.Bytes, frame.Jpeg.Length);
        using var decoded = OpenCvSharp.Cv2.ImDecode(frame.Jpeg, OpenCvSharp.ImreadModes.Color);
        Assert.Equal((accepted.Width, accepted.Height), (decoded.Width, decoded.Height));
    }

    [Fact]
    public void Frames_older_than_the_newest_are_rejected_as_stale()
    {
        var camera = NewCamera(out _);
        var t = NowMs;
        camera.Tell(new IngestFrame(Key, TestFrames.Vtest[0], t, null));
        ExpectMsg<FrameAccepted>(Wait);
        camera.Tell(new IngestFrame(Key, TestFrames.Vtest[1], t - 100, null));
        Assert.Equal(FrameRejectReason.Stale, ExpectMsg<FrameRejected>(Wait).Reason);
    }

    [Fact]
    public void A_subscriber_gets_the_start_signal_then_frames_with_one_in_flight_until_it_acks()
    {
        var camera = NewCamera(out _);
        var subscriber = CreateTestProbe();
        camera.Tell(new Subscribe(Key, "s1", subscriber.Ref, 0));
        subscriber.ExpectMsg<SubscriptionStarted>(Wait);
        subscriber.Reply(StreamAck.Instance);

        var t = NowMs;
        for (var i = 0; i < 3; i++)
        {
            camera.Tell(new IngestFrame(Key, TestFrames.Vtest[i], t + i, null));
            ExpectMsg<FrameAccepted>(Wait);
        }
        var first = subscriber.ExpectMsg<VideoFrame>(Wait);
        Assert.Equal(1, first.Sequence);
        Assert.Equal(TestFrames.Vtest[0], first.Jpeg);
        var stage = subscriber.LastSender;
        // Without an ack nothing more is sent: frame 2 was dropped in favour of frame 3 (newest wins).
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        stage.Tell(StreamAck.Instance, subscriber.Ref);
        Assert.Equal(3, subscriber.ExpectMsg<VideoFrame>(Wait).Sequence);
    }

    [Fact]
    public void A_new_subscriber_gets_the_latest_frame_at_once()
    {
        var camera = NewCamera(out _);
        camera.Tell(new IngestFrame(Key, TestFrames.Vtest[5], NowMs, null));
        ExpectMsg<FrameAccepted>(Wait);
        var late = CreateTestProbe();
        camera.Tell(new Subscribe(Key, "late", late.Ref, 0));
        late.ExpectMsg<SubscriptionStarted>(Wait);
        late.Reply(StreamAck.Instance);
        Assert.Equal(TestFrames.Vtest[5], late.ExpectMsg<VideoFrame>(Wait).Jpeg);
    }

    [Fact]
    public void Unsubscribe_completes_the_stream_and_a_dead_subscriber_is_forgotten()
    {
        var camera = NewCamera(out _);
        var a = CreateTestProbe();
        var b = CreateTestProbe();
        camera.Tell(new Subscribe(Key, "a", a.Ref, 0));
        camera.Tell(new Subscribe(Key, "b", b.Ref, 0));
        a.ExpectMsg<SubscriptionStarted>(Wait);
        b.ExpectMsg<SubscriptionStarted>(Wait);
        camera.Tell(new Unsubscribe(Key, "a"));
        a.ExpectMsg<SubscriptionCompleted>(Wait);
        Sys.Stop(b.Ref);
        AwaitAssert(() =>
        {
            camera.Tell(new GetCameraStatus(Key));
            Assert.Equal(0, ExpectMsg<CameraStatus>(Wait).Relays);
        }, Wait);
    }

    [Fact]
    public void Passivates_when_idle_without_subscribers()
    {
        NewCamera(out _, new CameraOptions { PassivateAfter = TimeSpan.FromMilliseconds(300) });
        ExpectMsg<Passivate>(Wait);
    }

    [Fact]
    public void A_pull_source_captures_real_video_only_while_it_has_subscribers()
    {
        var key = new StreamKey("demo", "lobby", "main");
        var catalog = new PullSourceCatalog([new PullSourceDefinition(key, Router.Tests.Media.TestMedia.SharedMediaPath("vtest.avi"))]);
        var camera = NewCamera(out _, new CameraOptions { PullStopAfter = TimeSpan.FromMilliseconds(300) }, pull: catalog, key: key);
        var viewer = CreateTestProbe();
        camera.Tell(new Subscribe(key, "v", viewer.Ref, 0));
        viewer.ExpectMsg<SubscriptionStarted>(Wait);
        viewer.Reply(StreamAck.Instance);
        for (var i = 0; i < 3; i++)
        {
            var frame = viewer.ExpectMsg<VideoFrame>(Wait);
            Assert.Equal((768, 576), (frame.Width, frame.Height));
            viewer.Reply(StreamAck.Instance);
        }
        camera.Tell(new Unsubscribe(key, "v"));
        // Capture stops within 2 s of PullStopAfter after the last subscriber left: the sequence stops growing.
        long Sequence()
        {
            camera.Tell(new GetSnapshot(key));
            return ExpectMsg<Snapshot>(Wait).Frame!.Sequence;
        }
        AwaitAssert(() =>
        {
            var before = Sequence();
            ExpectNoMsg(TimeSpan.FromMilliseconds(400));
            Assert.Equal(before, Sequence());
        }, TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public void A_viewer_back_within_PullStopAfter_finds_the_capture_running_not_reopened()
    {
        var key = new StreamKey("demo", "lobby", "main");
        var catalog = new PullSourceCatalog([new PullSourceDefinition(key, Router.Tests.Media.TestMedia.SharedMediaPath("vtest.avi"))]);
        var camera = NewCamera(out _, new CameraOptions { PullStopAfter = TimeSpan.FromSeconds(30) }, pull: catalog, key: key);
        void WatchThreeFrames(string subscriptionId)
        {
            var viewer = CreateTestProbe();
            camera.Tell(new Subscribe(key, subscriptionId, viewer.Ref, 0));
            viewer.ExpectMsg<SubscriptionStarted>(Wait);
            viewer.Reply(StreamAck.Instance);
            for (var i = 0; i < 3; i++)
            {
                viewer.ExpectMsg<VideoFrame>(Wait);
                viewer.Reply(StreamAck.Instance);
            }
            camera.Tell(new Unsubscribe(key, subscriptionId));
        }
        long Sequence()
        {
            camera.Tell(new GetSnapshot(key));
            return ExpectMsg<Snapshot>(Wait).Frame!.Sequence;
        }

        EventFilter.Info(contains: "pull capture started").Expect(1, Wait, () => WatchThreeFrames("first"));
        // Nobody watches: the capture goes on (the newest frame keeps changing)...
        var left = Sequence();
        AwaitAssert(() => Assert.True(Sequence() > left), Wait, TimeSpan.FromMilliseconds(50));
        // ...and a subscription and departure loop within PullStopAfter never opens the source again.
        EventFilter.Info(contains: "pull capture started").Expect(0, TimeSpan.FromSeconds(1), () =>
        {
            for (var i = 0; i < 3; i++) WatchThreeFrames($"again-{i}");
        });
    }
}
