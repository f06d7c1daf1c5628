using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Actors.Gateway;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Gateway;

/// <summary>The consumer-side subscriber: timestamp order per camera, with the clock-reset exception of <see cref="FrameOrder"/>.</summary>
public sealed class ConsumerActorTests() : TestKit(RouterTestConfig.SerializeEverything)
{
    private static readonly StreamKey Key = new("acme", "robot-01", "front");
    private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(5);
    private long _now = 1_000_000;

    /// <summary>Hands every delivered frame to a probe (the ack is left to the test, as the writer loop would send it).</summary>
    private sealed class ProbeOutlet(IActorRef probe) : IFrameOutlet
    {
        public void Deliver(VideoFrame frame, IActorRef ackTo, IActorRef consumerActor) => probe.Tell(frame);
    }

    /// <summary>A subscriber of <see cref="Key"/> whose subscription has started; returns it, the stage and the outlet probe.</summary>
    private (IActorRef Subscriber, TestProbe Stage, TestProbe Outlet) Subscribed()
    {
        var relays = CreateTestProbe();
        var directory = CreateTestProbe();
        var outlet = CreateTestProbe();
        var subscriber = Sys.ActorOf(ConsumerActor.Props("acme", "robot-01", ["front"], 0, relays.Ref, directory.Ref,
            new ProbeOutlet(outlet.Ref), MaxAge, () => Interlocked.Read(ref _now)));
        var subscribe = relays.ExpectMsg<Subscribe>();
        Assert.Equal(Key, subscribe.Key);
        var stage = CreateTestProbe();
        subscriber.Tell(new SubscriptionStarted(Key, subscribe.SubscriptionId), stage.Ref);
        stage.ExpectMsg<StreamAck>();
        return (subscriber, stage, outlet);
    }

    private static VideoFrame Frame(long timestampMs, long sequence) => new(Key, TestFrames.Vtest[0], 768, 576, timestampMs, sequence, false);

    private void Advance(TimeSpan by) => Interlocked.Add(ref _now, (long)by.TotalMilliseconds);

    [Fact]
    public void An_older_frame_right_after_a_newer_one_is_dropped_and_acked()
    {
        var (subscriber, stage, outlet) = Subscribed();
        subscriber.Tell(Frame(2_000, 1), stage.Ref);
        Assert.Equal(1, outlet.ExpectMsg<VideoFrame>().Sequence);

        Advance(MaxAge - TimeSpan.FromMilliseconds(1));
        subscriber.Tell(Frame(1_000, 2), stage.Ref);
        stage.ExpectMsg<StreamAck>(); // acked so the stream goes on, but not passed on
        outlet.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        subscriber.Tell(Frame(2_000, 3), stage.Ref); // equal timestamps are in order
        Assert.Equal(3, outlet.ExpectMsg<VideoFrame>().Sequence);
    }

    [Fact]
    public void After_a_device_clock_reset_older_frames_flow_again_once_the_last_delivered_frame_is_old()
    {
        var (subscriber, stage, outlet) = Subscribed();
        subscriber.Tell(Frame(5_000_000, 1), stage.Ref);
        Assert.Equal(1, outlet.ExpectMsg<VideoFrame>().Sequence);

        // The device's clock jumped back. While the last delivered frame is young, its frames are dropped...
        Advance(TimeSpan.FromSeconds(1));
        subscriber.Tell(Frame(1_000, 2), stage.Ref);
        stage.ExpectMsg<StreamAck>();
        outlet.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        // ...and once it is LatestFrameMaxAge old by the wall clock, the older timestamps are accepted.
        Advance(MaxAge);
        subscriber.Tell(Frame(1_100, 3), stage.Ref);
        Assert.Equal(3, outlet.ExpectMsg<VideoFrame>().Sequence);

        // From the new timeline on the order rule holds again.
        subscriber.Tell(Frame(1_050, 4), stage.Ref);
        stage.ExpectMsg<StreamAck>();
        subscriber.Tell(Frame(1_200, 5), stage.Ref);
        Assert.Equal(5, outlet.ExpectMsg<VideoFrame>().Sequence);
    }

    [Theory]
    [InlineData(null, 0L, 1L, 0L, true)]         // no frame yet
    [InlineData(100L, 0L, 100L, 0L, true)]       // equal timestamp
    [InlineData(100L, 0L, 99L, 4_999L, false)]   // older, last one young
    [InlineData(100L, 0L, 99L, 5_000L, true)]    // older, last one 5 s old
    public void FrameOrder_rule(long? last, long lastTicks, long ts, long now, bool accepted) =>
        Assert.Equal(accepted, FrameOrder.Accepts(last, lastTicks, ts, now, MaxAge));
}
