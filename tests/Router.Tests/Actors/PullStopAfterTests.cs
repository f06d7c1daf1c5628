using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Actors;

/// <summary>
/// A pull source's capture outlives its last subscription by <see cref="CameraOptions.PullStopAfter"/>: a viewer coming
/// back finds it running, and subscribe-and-leave loops never reopen the source. (INFO logging, to count the
/// "pull capture started" events.)
/// </summary>
public sealed class PullStopAfterTests() : TestKit(ConfigurationFactory.ParseString("akka.loglevel = INFO").WithFallback(RouterTestConfig.SerializeEverything))
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public void A_viewer_back_within_PullStopAfter_finds_the_capture_running_not_reopened()
    {
        var key = new StreamKey("demo", "lobby", "main");
        var catalog = new PullSourceCatalog([new PullSourceDefinition(key, Router.Tests.Media.TestMedia.SharedMediaPath("vtest.avi"))]);
        var camera = ChildActorOf(CameraActor.Props(key.EntityId, new CameraOptions { PullStopAfter = TimeSpan.FromSeconds(30) }, catalog, CreateTestProbe().Ref));
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
