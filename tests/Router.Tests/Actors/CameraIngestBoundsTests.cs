using Akka.Actor;
using Akka.TestKit.Xunit2;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Media;
using Router.Actors.Messages;
using Router.Tests.Hostile;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Actors;

/// <summary>The camera entity's bounds on ingest: the pixel limit before any decode, with every message serialized.</summary>
public sealed class CameraIngestBoundsTests() : TestKit(RouterTestConfig.SerializeEverything)
{
    private static readonly StreamKey Key = new("acme", "robot-01", "front");
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private IActorRef NewCamera(long maxPixels) =>
        ChildActorOf(CameraActor.Props(Key.EntityId, new CameraOptions { SizePolicy = new SizePolicyOptions { MaxPixels = maxPixels } },
            PullSourceCatalog.Empty, CreateTestProbe().Ref));

    private static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    [Fact]
    public void A_frame_at_the_pixel_limit_passes_and_one_pixel_more_is_rejected_as_TooManyPixels()
    {
        var frame = TestFrames.Vtest[0]; // 768x576, passes through
        var atLimit = NewCamera(TestFrames.Width * TestFrames.Height);
        atLimit.Tell(new IngestFrame(Key, frame, NowMs, null));
        ExpectMsg<FrameAccepted>(Wait);

        var belowLimit = NewCamera(TestFrames.Width * TestFrames.Height - 1);
        belowLimit.Tell(new IngestFrame(Key, frame, NowMs, null));
        var rejected = ExpectMsg<FrameRejected>(Wait);
        Assert.Equal(FrameRejectReason.TooManyPixels, rejected.Reason);
        Assert.Contains("768x576", rejected.Message);
    }

    [Fact]
    public void A_bomb_in_the_re_encode_range_is_rejected_at_once_with_the_default_limit()
    {
        var camera = NewCamera(new SizePolicyOptions().MaxPixels);
        camera.Tell(new IngestFrame(Key, Bombs.Bomb(32768, 32767, 800_000), NowMs, null) { TimeoutMs = 5000 });
        var rejected = ExpectMsg<FrameRejected>(Wait);
        Assert.Equal(FrameRejectReason.TooManyPixels, rejected.Reason);
        // The entity is unharmed.
        camera.Tell(new IngestFrame(Key, TestFrames.Vtest[1], NowMs, null));
        ExpectMsg<FrameAccepted>(Wait);
    }
}
