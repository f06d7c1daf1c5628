using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Router.Actors.Camera;
using Router.Actors.Gateway;
using Router.Actors.Identity;
using Router.Actors.Media;
using Router.Actors.Messages;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Actors;

/// <summary>
/// Variants inside a gateway's relays, with a real camera entity fed real frames: a relay whose only subscribers take
/// variants passivates and restarts like any other without losing a subscription, and full-size and variant
/// subscribers of one camera each get their own picture. (No serialize-everything config: a <see cref="Subscribe"/>
/// with a variant is local to its gateway and never serialized.)
/// </summary>
public sealed class RelayVariantTests : TestKit
{
    private static readonly StreamKey Key = new("acme", "relay-variants", "0");
    private static readonly VariantSpec Small = new(320, 0, 70);

    private IActorRef Viewer(TestProbe probe) => Sys.ActorOf(Props.Create(() => new AckingConsumer(probe.Ref)));

    /// <summary>Feeds the camera a real frame every 20 ms until disposed.</summary>
    private static Timer Feed(IActorRef camera)
    {
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long i = 0;
        return new Timer(_ =>
        {
            var n = Interlocked.Increment(ref i);
            camera.Tell(new IngestFrame(Key, TestFrames.Vtest[(int)(n % TestFrames.Vtest.Count)], start + n, null));
        }, null, 0, 20);
    }

    private static void ExpectFrameOfWidth(TestProbe probe, int width) =>
        Assert.Equal(width, probe.FishForMessage<VideoFrame>(_ => true, TimeSpan.FromSeconds(5)).Width);

    [Fact]
    public void A_variant_subscribe_racing_a_relay_stop_is_delivered_and_gets_variant_frames()
    {
        var camera = Sys.ActorOf(CameraActor.Props(Key.EntityId, new CameraOptions(), PullSourceCatalog.Empty, CreateTestProbe().Ref));
        var relays = Sys.ActorOf(CameraRelaysActor.Props(camera, new CameraOptions()));
        using var feed = Feed(camera);

        var probe = CreateTestProbe();
        var viewer = Viewer(probe);
        relays.Tell(new Subscribe(Key, "s0", viewer, 0) { Variant = Small });
        probe.ExpectMsg<SubscriptionStarted>(TimeSpan.FromSeconds(5));
        ExpectFrameOfWidth(probe, 320);
        var previous = (Id: "s0", Viewer: viewer);
        for (var i = 1; i <= 20; i++)
        {
            // The relay's last (variant) subscriber leaves, and a new one arrives: the relay is between unused and stopped.
            var nextProbe = CreateTestProbe();
            var next = Viewer(nextProbe);
            if (i % 2 == 0) relays.Tell(new Unsubscribe(Key, previous.Id));
            else Sys.Stop(previous.Viewer);
            relays.Tell(new Subscribe(Key, $"s{i}", next, 0) { Variant = i % 3 == 0 ? Small with { Quality = 40 } : Small });
            Assert.Equal($"s{i}", nextProbe.FishForMessage<SubscriptionStarted>(_ => true, TimeSpan.FromSeconds(5)).SubscriptionId);
            ExpectFrameOfWidth(nextProbe, 320);
            previous = ($"s{i}", next);
        }
    }

    [Fact]
    public void Full_size_and_variant_subscribers_of_one_relay_each_get_their_own_picture_and_one_leaving_keeps_the_other()
    {
        var camera = Sys.ActorOf(CameraActor.Props(Key.EntityId, new CameraOptions(), PullSourceCatalog.Empty, CreateTestProbe().Ref));
        var relays = Sys.ActorOf(CameraRelaysActor.Props(camera, new CameraOptions()));
        using var feed = Feed(camera);
        var full = CreateTestProbe();
        var small = CreateTestProbe();
        var tiny = CreateTestProbe();
        relays.Tell(new Subscribe(Key, "full", Viewer(full), 0));
        relays.Tell(new Subscribe(Key, "small", Viewer(small), 0) { Variant = Small });
        relays.Tell(new Subscribe(Key, "tiny", Viewer(tiny), 0) { Variant = new VariantSpec(0, 60, 0) }); // default quality
        ExpectFrameOfWidth(full, TestFrames.Width);
        ExpectFrameOfWidth(small, 320);
        ExpectFrameOfWidth(tiny, 80);

        // The full-size subscriber leaves: the variants go on; a variant leaves: the full size and the other go on.
        relays.Tell(new Unsubscribe(Key, "full"));
        full.FishForMessage(m => m is SubscriptionCompleted, TimeSpan.FromSeconds(5));
        ExpectFrameOfWidth(small, 320);
        relays.Tell(new Unsubscribe(Key, "small")); // the last subscriber of its variant
        small.FishForMessage(m => m is SubscriptionCompleted, TimeSpan.FromSeconds(5));
        tiny.ReceiveN(5, TimeSpan.FromSeconds(5));
        ExpectFrameOfWidth(tiny, 80);
    }

    [Fact]
    public void A_variant_the_frames_fit_already_passes_them_through_unchanged()
    {
        var camera = Sys.ActorOf(CameraActor.Props(Key.EntityId, new CameraOptions(), PullSourceCatalog.Empty, CreateTestProbe().Ref));
        var relays = Sys.ActorOf(CameraRelaysActor.Props(camera, new CameraOptions()));
        using var feed = Feed(camera);
        var wide = CreateTestProbe();
        var requalified = CreateTestProbe();
        relays.Tell(new Subscribe(Key, "wide", Viewer(wide), 0) { Variant = new VariantSpec(4000, 0, 0) });
        relays.Tell(new Subscribe(Key, "requalified", Viewer(requalified), 0) { Variant = new VariantSpec(4000, 0, 30) });

        var passed = wide.FishForMessage<VideoFrame>(_ => true, TimeSpan.FromSeconds(5));
        Assert.False(passed.Reencoded); // the camera's own frame, not an encode
        Assert.Contains(passed.Jpeg, TestFrames.Vtest);
        var encoded = requalified.FishForMessage<VideoFrame>(_ => true, TimeSpan.FromSeconds(5));
        Assert.True(encoded.Reencoded); // a quality was asked for: encoded at the frame's size
        Assert.Equal((TestFrames.Width, TestFrames.Height), (encoded.Width, encoded.Height));
    }
}
