using System.Diagnostics;
using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Remote;
using Akka.Remote.Transport;
using Akka.TestKit.Xunit2;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Actors.Metrics;
using Router.Actors.Gateway;
using Router.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Router.Tests.Cluster;

/// <summary>
/// Messages really lost between two ActorSystems over real remoting (DotNetty TCP on 127.0.0.1 with Akka.Remote's
/// throttler adapter, which blackholes one direction of the association): a "node" system hosts the camera entity, a
/// "gateway" system (this TestKit's) the camera relays and a viewer. A frame dropped on its way to the gateway, an ack
/// dropped on its way back, and a subscription ended without the gateway hearing of it: each time the viewer resumes
/// within 3 s on the same subscription (no reconnect, no re-subscription of the viewer).
/// </summary>
[Trait("Category", "Cluster")]
public sealed class StreamRecoveryRemotingTests : TestKit
{
    private static readonly TimeSpan Resume = TimeSpan.FromSeconds(3);
    private readonly ITestOutputHelper _output;
    private readonly ActorSystem _node;
    private readonly Address _nodeAddress;

    private static Config Remoting(string loglevel = "WARNING") => ConfigurationFactory.ParseString($$"""
        akka.loglevel = {{loglevel}}
        akka.actor.provider = remote
        akka.remote.dot-netty.tcp {
          hostname = 127.0.0.1
          port = 0
          applied-adapters = [trttl]
          maximum-frame-size = 2000000b
        }
        akka.actor.serializers.router = "Router.Actors.Serialization.RouterSerializer, Router.Actors"
        akka.actor.serialization-bindings { "Router.Actors.Messages.IRouterMessage, Router.Actors" = router }
        akka.actor.serialization-identifiers { "Router.Actors.Serialization.RouterSerializer, Router.Actors" = 4171 }
        """);

    public StreamRecoveryRemotingTests(ITestOutputHelper output) : base(Remoting(), "gateway")
    {
        _output = output;
        _node = ActorSystem.Create("node", Remoting());
        _nodeAddress = ((ExtendedActorSystem)_node).Provider.DefaultAddress;
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _node.Terminate().Wait(TimeSpan.FromSeconds(10));
    }

    /// <summary>Stands in for the shard region on the node: forwards to the current camera entity, which a test can replace.</summary>
    private sealed class Region : ReceiveActor
    {
        public sealed record Replace : INoSerializationVerificationNeeded;

        public sealed record GetSubscribes : INoSerializationVerificationNeeded;

        public Region(StreamKey key, CameraOptions options)
        {
            var generation = 0;
            var subscribes = 0;
            IActorRef Create() => Context.ActorOf(CameraActor.Props(key.EntityId, options, PullSourceCatalog.Empty, ActorRefs.Nobody), $"camera-{++generation}");
            var camera = Create();
            Receive<Replace>(_ =>
            {
                Context.Stop(camera); // its subscriptions end with a SubscriptionCompleted each
                camera = Create();
            });
            Receive<GetSubscribes>(_ => Sender.Tell(subscribes));
            Receive<Subscribe>(m =>
            {
                subscribes++;
                camera.Forward(m);
            });
            ReceiveAny(m => camera.Forward(m));
        }
    }

    /// <summary>A consumer's subscriber in miniature: acks at once, records when each frame arrived and every other signal.</summary>
    private sealed class Viewer : ReceiveActor
    {
        public Viewer(List<(long AtMs, long TimestampMs)> frames, List<object> signals, Stopwatch clock)
        {
            Receive<VideoFrame>(f =>
            {
                Sender.Tell(StreamAck.Instance);
                lock (frames) frames.Add((clock.ElapsedMilliseconds, f.TimestampMs));
            });
            Receive<SubscriptionStarted>(m =>
            {
                Sender.Tell(StreamAck.Instance);
                lock (signals) signals.Add(m);
            });
            ReceiveAny(m => { lock (signals) signals.Add(m); });
        }
    }

    private sealed class Counter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _total;

        public Counter(string name)
        {
            _listener.InstrumentPublished = (i, l) => { if (i.Meter.Name == RouterMeter.Name && i.Name == name) l.EnableMeasurementEvents(i); };
            _listener.SetMeasurementEventCallback<long>((_, v, _, _) => Interlocked.Add(ref _total, v));
            _listener.Start();
        }

        public long Total => Interlocked.Read(ref _total);

        public void Dispose() => _listener.Dispose();
    }

    private sealed record Setup(IActorRef Region, List<(long AtMs, long TimestampMs)> Frames, List<object> Signals, Stopwatch Clock, IDisposable Feed);

    /// <summary>Camera on the node (fed at 25 fps), relays and one viewer on the gateway, frames flowing.</summary>
    private async Task<Setup> StartAsync(string camera, CameraOptions nodeOptions, CameraOptions gatewayOptions)
    {
        var key = new StreamKey("acme", "recovery", camera);
        var region = _node.ActorOf(Props.Create(() => new Region(key, nodeOptions)), $"region-{camera}");
        var remoteRegion = await Sys.ActorSelection(new RootActorPath(_nodeAddress) / "user" / region.Path.Name).ResolveOne(TimeSpan.FromSeconds(10));
        Assert.True(remoteRegion.Path.Address.HasGlobalScope);
        var relays = Sys.ActorOf(CameraRelaysActor.Props(remoteRegion, gatewayOptions), $"relays-{camera}");
        var clock = Stopwatch.StartNew();
        var frames = new List<(long, long)>();
        var signals = new List<object>();
        var viewer = Sys.ActorOf(Props.Create(() => new Viewer(frames, signals, clock)), $"viewer-{camera}");
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var feed = Actors.StreamRecoveryTests.Camera(i =>
            region.Tell(new IngestFrame(key, TestFrames.Vtest[(int)(i % TestFrames.Vtest.Count)], start + i * 40, null), ActorRefs.Nobody));
        relays.Tell(new Subscribe(key, "viewer-1", viewer, 0));
        AwaitCondition(() => { lock (frames) return frames.Count >= 10; }, TimeSpan.FromSeconds(15));
        return new Setup(region, frames, signals, clock, feed);
    }

    private Task<bool> Throttle(ThrottleTransportAdapter.Direction direction, ThrottleMode mode) =>
        ((IRemoteActorRefProvider)((ExtendedActorSystem)Sys).Provider).Transport.ManagementCommand(new SetThrottle(_nodeAddress, direction, mode));

    /// <summary>Drops whatever crosses in <paramref name="direction"/> for 300 ms; returns when the link is whole again (ms on the setup's clock).</summary>
    private async Task<long> BlackholeAsync(Setup setup, ThrottleTransportAdapter.Direction direction)
    {
        Assert.True(await Throttle(direction, Blackhole.Instance));
        await Task.Delay(300); // the fault's length (a frame is sent every 40 ms, so one is in flight), not a synchronisation
        Assert.True(await Throttle(direction, Unthrottled.Instance));
        return setup.Clock.ElapsedMilliseconds;
    }

    /// <summary>The viewer gets a frame within 3 s of <paramref name="healedAtMs"/> and a few more after it.</summary>
    private (long ResumedAfterMs, long LargestGapMs) AssertResumes(Setup setup, long healedAtMs, string what)
    {
        AwaitCondition(() => { lock (setup.Frames) return setup.Frames.Count(f => f.AtMs > healedAtMs) >= 3; }, Resume + TimeSpan.FromSeconds(2));
        lock (setup.Frames)
        {
            var first = setup.Frames.First(f => f.AtMs > healedAtMs).AtMs;
            var gaps = setup.Frames.Zip(setup.Frames.Skip(1), (a, b) => b.AtMs - a.AtMs);
            var result = (first - healedAtMs, gaps.Max());
            _output.WriteLine($"{what}: viewer resumed {result.Item1} ms after the link healed; largest gap {result.Item2} ms");
            Assert.True(result.Item1 <= Resume.TotalMilliseconds, $"{what}: resumed only after {result.Item1} ms");
            Assert.True(setup.Frames.Zip(setup.Frames.Skip(1)).All(p => p.Second.TimestampMs > p.First.TimestampMs), "frames out of order");
            return result;
        }
    }

    private void AssertSameSubscription(Setup setup)
    {
        lock (setup.Signals)
        {
            // One start, nothing ended: the viewer never had to subscribe again.
            Assert.Single(setup.Signals.OfType<SubscriptionStarted>());
            Assert.DoesNotContain(setup.Signals, s => s is SubscriptionCompleted or SubscriptionFailed);
        }
    }

    [Fact]
    public async Task A_frame_lost_on_the_way_to_the_gateway_costs_one_frame_not_the_subscription()
    {
        using var timeouts = new Counter("router.fanout.ack_timeouts");
        var setup = await StartAsync("lost-frame", new CameraOptions(), new CameraOptions());
        using (setup.Feed)
        {
            var before = timeouts.Total;
            var healed = await BlackholeAsync(setup, ThrottleTransportAdapter.Direction.Receive);
            AssertResumes(setup, healed, "frame dropped");
            Assert.True(timeouts.Total > before, "the camera's slot should have been re-armed by its ack timeout");
            AssertSameSubscription(setup);
        }
    }

    [Fact]
    public async Task An_ack_lost_on_the_way_to_the_camera_costs_one_frame_not_the_subscription()
    {
        using var timeouts = new Counter("router.fanout.ack_timeouts");
        var setup = await StartAsync("lost-ack", new CameraOptions(), new CameraOptions());
        using (setup.Feed)
        {
            var before = timeouts.Total;
            var healed = await BlackholeAsync(setup, ThrottleTransportAdapter.Direction.Send);
            AssertResumes(setup, healed, "ack dropped");
            Assert.True(timeouts.Total > before, "the camera's slot should have been re-armed by its ack timeout");
            AssertSameSubscription(setup);
        }
    }

    [Fact]
    public async Task A_relay_whose_subscription_ended_unheard_resubscribes_while_an_idle_camera_causes_no_resubscription()
    {
        var gateway = new CameraOptions { RelayStallTimeout = TimeSpan.FromSeconds(1) };
        var setup = await StartAsync("lost-end", new CameraOptions(), gateway);
        Assert.Equal(1, await setup.Region.Ask<int>(new Region.GetSubscribes(), TimeSpan.FromSeconds(5)));

        // The camera entity is replaced (as after a crash) while nothing reaches the gateway: its SubscriptionCompleted
        // to the relay is lost, so the relay still believes in its old subscription and gets nothing.
        Assert.True(await Throttle(ThrottleTransportAdapter.Direction.Receive, Blackhole.Instance));
        setup.Region.Tell(new Region.Replace());
        await Task.Delay(300); // the fault's length
        Assert.True(await Throttle(ThrottleTransportAdapter.Direction.Receive, Unthrottled.Instance));
        var healed = setup.Clock.ElapsedMilliseconds;
        AssertResumes(setup, healed, "subscription ended unheard");
        Assert.Equal(2, await setup.Region.Ask<int>(new Region.GetSubscribes(), TimeSpan.FromSeconds(5)));
        AssertSameSubscription(setup);

        // The camera goes idle (no frames): the relay checks, sees nothing newer, and does not subscribe again.
        setup.Feed.Dispose();
        await Task.Delay(gateway.RelayStallTimeout * 4); // four stall periods of an idle camera, the thing under test
        Assert.Equal(2, await setup.Region.Ask<int>(new Region.GetSubscribes(), TimeSpan.FromSeconds(5)));
    }
}
