using System.Diagnostics;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Actors.Gateway;
using Router.Gateway.Streaming;
using Router.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Router.Tests.Actors;

/// <summary>
/// Recovery of the frame path inside one ActorSystem: a fan-out stream that dies is restarted with its subscribers
/// re-attached; a subscribe racing a relay's stop is not lost; a subscription that does not start is retried.
/// </summary>
public sealed class StreamRecoveryTests(ITestOutputHelper output) : TestKit(RouterTestConfig.SerializeEverything)
{
    private static readonly StreamKey Key = new("acme", "recovery", "0");

    private static VideoFrame Frame(long sequence) =>
        new(Key, TestFrames.Vtest[(int)(sequence % TestFrames.Vtest.Count)], TestFrames.Width, TestFrames.Height, 1_000 + sequence, sequence, false);

    /// <summary>Owns a <see cref="FrameFanOut"/> as the camera entity and the relay do.</summary>
    private sealed class FanOutOwner : ReceiveActor
    {
        public sealed record Crash : INoSerializationVerificationNeeded;

        public FanOutOwner(bool notify)
        {
            var fanOut = new FrameFanOut(Context, new CameraOptions(), notify);
            Receive<Subscribe>(m => fanOut.Add(m, null));
            Receive<VideoFrame>(fanOut.Publish);
            Receive<Crash>(_ => fanOut.CrashStageForTest(new InvalidOperationException("bug in the stage")));
            Receive<FrameFanOut.StreamEnded>(fanOut.HandleStreamEnded);
            Receive<Terminated>(m => fanOut.RemoveSubscriber(m.ActorRef));
        }
    }

    private IActorRef Viewer(TestProbe probe) => Sys.ActorOf(Props.Create(() => new AckingConsumer(probe.Ref)));

    /// <summary>Calls <paramref name="publish"/> with 1, 2, 3... every 40 ms (a 25 fps camera) until disposed.</summary>
    internal static IDisposable Camera(Action<long> publish)
    {
        var stop = new CancellationTokenSource();
        _ = Task.Run(async () =>
        {
            using var clock = new PeriodicTimer(TimeSpan.FromMilliseconds(40));
            long i = 0;
            try
            {
                while (await clock.WaitForNextTickAsync(stop.Token)) publish(++i);
            }
            catch (OperationCanceledException)
            {
            }
        });
        return new Stopper(stop);
    }

    private sealed class Stopper(CancellationTokenSource stop) : IDisposable
    {
        public void Dispose() => stop.Cancel();
    }

    [Theory]
    [InlineData(true)]  // the owner is told at once (the relay)
    [InlineData(false)] // the death is noticed at the next frame (the camera entity)
    public void A_fan_out_stream_that_dies_is_restarted_and_its_subscribers_resume_without_resubscribing(bool notifyOwner)
    {
        var owner = Sys.ActorOf(Props.Create(() => new FanOutOwner(notifyOwner)));
        var a = CreateTestProbe();
        var b = CreateTestProbe();
        owner.Tell(new Subscribe(Key, "a", Viewer(a), 0));
        owner.Tell(new Subscribe(Key, "b", Viewer(b), 0));
        using var camera = Camera(i => owner.Tell(Frame(i)));
        foreach (var probe in new[] { a, b })
        {
            probe.ExpectMsg<SubscriptionStarted>(TimeSpan.FromSeconds(5));
            probe.ExpectMsg<VideoFrame>(TimeSpan.FromSeconds(5));
        }

        owner.Tell(new FanOutOwner.Crash());
        var crashedAt = Stopwatch.GetTimestamp();
        foreach (var probe in new[] { a, b })
        {
            // The same subscription starts again from the new stage, then frames flow: within 3 s, no re-subscription.
            var started = probe.FishForMessage<SubscriptionStarted>(_ => true, TimeSpan.FromSeconds(3));
            Assert.Equal(probe == a ? "a" : "b", started.SubscriptionId);
            probe.ExpectMsg<VideoFrame>(TimeSpan.FromSeconds(3) - Stopwatch.GetElapsedTime(crashedAt));
        }
        output.WriteLine($"resumed {Stopwatch.GetElapsedTime(crashedAt).TotalMilliseconds:F0} ms after the crash");
    }

    [Fact]
    public void A_subscribe_racing_a_relay_stop_is_delivered_and_the_subscriber_gets_frames()
    {
        var camera = Sys.ActorOf(CameraActor.Props(Key.EntityId, new CameraOptions(), PullSourceCatalog.Empty, CreateTestProbe().Ref));
        var relays = Sys.ActorOf(CameraRelaysActor.Props(camera, new CameraOptions()));
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var feed = Camera(i => camera.Tell(new IngestFrame(Key, TestFrames.Vtest[(int)(i % TestFrames.Vtest.Count)], start + i, null)));

        var probe = CreateTestProbe();
        var viewer = Viewer(probe);
        relays.Tell(new Subscribe(Key, "s0", viewer, 0));
        probe.ExpectMsg<SubscriptionStarted>(TimeSpan.FromSeconds(5));
        probe.ExpectMsg<VideoFrame>(TimeSpan.FromSeconds(5));
        var previous = (Id: "s0", Viewer: viewer, Probe: probe);
        for (var i = 1; i <= 30; i++)
        {
            // The relay's last subscriber leaves, and a new one arrives at once (or a little later): the relay is
            // between "unused" and stopped. Half the time the leaving subscriber unsubscribes, else it stops.
            var nextProbe = CreateTestProbe();
            var next = Viewer(nextProbe);
            if (i % 2 == 0) relays.Tell(new Unsubscribe(Key, previous.Id));
            else Sys.Stop(previous.Viewer);
            if (i % 3 == 0) Thread.SpinWait(20_000 * (i % 5)); // jitter, not synchronisation: varies where the race lands
            relays.Tell(new Subscribe(Key, $"s{i}", next, 0));
            Assert.Equal($"s{i}", nextProbe.ExpectMsg<SubscriptionStarted>(TimeSpan.FromSeconds(3)).SubscriptionId);
            nextProbe.ExpectMsg<VideoFrame>(TimeSpan.FromSeconds(3));
            previous = ($"s{i}", next, nextProbe);
        }
    }

    [Fact]
    public void A_subscription_that_does_not_start_is_retried_until_it_does()
    {
        var relays = CreateTestProbe();
        var directory = CreateTestProbe();
        var subscriber = Sys.ActorOf(ConsumerActor.Props("acme", "recovery", ["0"], 0, relays.Ref, directory.Ref,
            new NullOutlet(), TimeSpan.FromSeconds(5), startTimeout: TimeSpan.FromMilliseconds(300)));
        var first = relays.ExpectMsg<Subscribe>();
        // Nobody answers the first Subscribe (lost): the subscriber gives it up and subscribes again.
        Assert.Equal(first.SubscriptionId, relays.ExpectMsg<Unsubscribe>(TimeSpan.FromSeconds(3)).SubscriptionId);
        var second = relays.ExpectMsg<Subscribe>();
        Assert.NotEqual(first.SubscriptionId, second.SubscriptionId);
        Assert.Equal(Key, second.Key);

        // A start for the abandoned id does not stop the retries; the current one does.
        var stage = CreateTestProbe();
        subscriber.Tell(new SubscriptionStarted(Key, first.SubscriptionId), stage.Ref);
        stage.ExpectMsg<StreamAck>();
        relays.ExpectMsg<Unsubscribe>(TimeSpan.FromSeconds(3));
        var third = relays.ExpectMsg<Subscribe>();
        subscriber.Tell(new SubscriptionStarted(Key, third.SubscriptionId), stage.Ref);
        stage.ExpectMsg<StreamAck>();
        relays.ExpectNoMsg(TimeSpan.FromMilliseconds(900));
    }

    private sealed class NullOutlet : IFrameOutlet
    {
        public void Deliver(VideoFrame frame, IActorRef ackTo, IActorRef subscriber) => ackTo.Tell(StreamAck.Instance, subscriber);
    }
}
