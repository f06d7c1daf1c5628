using Akka.Actor;
using Akka.TestKit.Xunit2;
using Router.Actors.Camera;
using Router.Actors.Gateway;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Actors;

/// <summary>
/// The gateway's relay registry starts new cameras at a rate per tenant (Router:Camera:NewCamerasPerSecondPerTenant):
/// a tenant past its burst gets "retry" answers for new cameras while other tenants, and cameras already relayed, are
/// not affected; the retried subscriptions all start once the rate allows.
/// </summary>
public sealed class NewCameraRateTests() : TestKit(RouterTestConfig.SerializeEverything)
{
    // First test: the bucket does not refill while the test runs (one token per 100 s).
    private static readonly CameraOptions NoRefill = new() { NewCameraBurstPerTenant = 3, NewCamerasPerSecondPerTenant = 0.01 };
    private static readonly CameraOptions Options = new() { NewCameraBurstPerTenant = 3, NewCamerasPerSecondPerTenant = 5 };

    /// <summary>A stand-in for the shard region: one real camera entity per key, created on its first message.</summary>
    private sealed class Region : ReceiveActor
    {
        public Region(IActorRef directory)
        {
            Receive<ICameraCommand>(m =>
            {
                var name = Uri.EscapeDataString(m.Key.EntityId);
                var child = Context.Child(name);
                if (child.IsNobody()) child = Context.ActorOf(CameraActor.Props(m.Key.EntityId, new CameraOptions(), PullSourceCatalog.Empty, directory), name);
                child.Forward(m);
            });
        }
    }

    [Fact]
    public void A_tenant_past_its_new_camera_burst_is_answered_retry_and_others_are_not()
    {
        var region = Sys.ActorOf(Props.Create(() => new Region(CreateTestProbe().Ref)));
        var relays = Sys.ActorOf(CameraRelaysActor.Props(region, NoRefill));
        var probe = CreateTestProbe();

        for (var i = 0; i < 3; i++) relays.Tell(new Subscribe(new StreamKey("acme", "flood", $"c{i}"), $"a{i}", probe.Ref, 0), probe.Ref);
        var started = Enumerable.Range(0, 3).Select(_ => probe.ExpectMsg<SubscriptionStarted>(TimeSpan.FromSeconds(5))).ToList();
        foreach (var s in started) probe.Reply(StreamAck.Instance);

        // Burst used up: a 4th new camera of acme is deferred at once...
        relays.Tell(new Subscribe(new StreamKey("acme", "flood", "c3"), "a3", probe.Ref, 0), probe.Ref);
        var failed = probe.ExpectMsg<SubscriptionFailed>(TimeSpan.FromSeconds(5));
        Assert.Equal("a3", failed.SubscriptionId);
        Assert.Contains("new cameras/s", failed.Reason);
        // ...while another subscription to a camera acme already relays, and globex's new camera, start.
        relays.Tell(new Subscribe(new StreamKey("acme", "flood", "c0"), "a0-second", probe.Ref, 0), probe.Ref);
        Assert.Equal("a0-second", probe.ExpectMsg<SubscriptionStarted>(TimeSpan.FromSeconds(5)).SubscriptionId);
        relays.Tell(new Subscribe(new StreamKey("globex", "flood", "c0"), "g0", probe.Ref, 0), probe.Ref);
        Assert.Equal("g0", probe.ExpectMsg<SubscriptionStarted>(TimeSpan.FromSeconds(5)).SubscriptionId);
    }

    [Fact]
    public void A_consumer_subscribing_to_many_new_cameras_gets_all_of_them_at_the_tenant_rate()
    {
        var region = Sys.ActorOf(Props.Create(() => new Region(CreateTestProbe().Ref)));
        var relays = Sys.ActorOf(CameraRelaysActor.Props(region, Options));
        var outlet = new CountingOutlet();
        var cameras = Enumerable.Range(0, 8).Select(i => $"c{i}").ToList();
        // A real subscriber actor (as the consumer WebSocket creates it): it retries deferred subscriptions by itself.
        Sys.ActorOf(ConsumerActor.Props("acme", "many", cameras, 0, relays, CreateTestProbe().Ref, outlet, TimeSpan.FromSeconds(5)));
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var frame = 0L;
        AwaitAssert(() =>
        {
            // Frames into every camera (the real entities); each subscription that has started passes them on.
            foreach (var camera in cameras)
                region.Tell(new IngestFrame(new StreamKey("acme", "many", camera), TestFrames.Vtest[0], start + frame, null));
            frame++;
            Assert.Equal(cameras.Count, outlet.Cameras.Count);
        }, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(100));
    }

    private sealed class CountingOutlet : IFrameOutlet
    {
        private readonly object _gate = new();
        private readonly HashSet<string> _cameras = [];

        public IReadOnlyCollection<string> Cameras { get { lock (_gate) return _cameras.ToList(); } }

        public void Deliver(VideoFrame frame, IActorRef ackTo, IActorRef subscriber)
        {
            lock (_gate) _cameras.Add(frame.Key.CameraId);
            ackTo.Tell(StreamAck.Instance, subscriber);
        }
    }
}
