using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Actors.Metrics;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Actors;

/// <summary>
/// The fan-out stage on its own (Akka.Streams.TestKit publisher probe upstream, TestKit probes as subscribers):
/// ack deadlines, a send that throws, extreme max_fps values, a throw inside the stage.
/// </summary>
public sealed class FanOutSinkStageTests : TestKit
{
    private static readonly StreamKey Key = new("acme", "stage", "0");
    private readonly ActorMaterializer _materializer;

    public FanOutSinkStageTests() : base("akka.loglevel = WARNING") => _materializer = Sys.Materializer();

    private static VideoFrame Frame(long sequence) =>
        new(Key, TestFrames.Vtest[(int)(sequence % TestFrames.Vtest.Count)], TestFrames.Width, TestFrames.Height, 1_000 + sequence, sequence, false);

    private (TestPublisher.Probe<VideoFrame> Upstream, FanOutSinkStage.Control Control) Run(TimeSpan localAckTimeout)
    {
        var stage = new FanOutSinkStage(TimeSpan.FromSeconds(1), localAckTimeout, Sys.Log, "test");
        var (upstream, control) = this.SourceProbe<VideoFrame>()
            .ToMaterialized(Sink.FromGraph(stage), Keep.Both)
            .Run(_materializer);
        upstream.EnsureSubscription();
        return (upstream, control);
    }

    /// <summary>Subscribes <paramref name="probe"/> and acks its start; returns the stage actor (where acks go).</summary>
    private static IActorRef Subscribe(FanOutSinkStage.Control control, TestProbe probe, string id, double maxFps = 0)
    {
        control.Post(new FanOutSinkStage.Add(new Subscribe(Key, id, probe.Ref, maxFps), null));
        var started = probe.ExpectMsg<SubscriptionStarted>(TimeSpan.FromSeconds(5));
        Assert.Equal(id, started.SubscriptionId);
        var stage = probe.LastSender;
        stage.Tell(StreamAck.Instance, probe.Ref);
        return stage;
    }

    /// <summary>Sums a counter's increments seen while the listener is alive (other tests may add to it too).</summary>
    private sealed class CounterListener : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _total;

        public CounterListener(string name)
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == RouterMeter.Name && instrument.Name == name) l.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _total, value));
            _listener.Start();
        }

        public long Total => Interlocked.Read(ref _total);

        public void Dispose() => _listener.Dispose();
    }

    [Fact]
    public void A_frame_replaced_before_a_slow_subscriber_took_it_is_counted_as_conflated_for_its_tenant()
    {
        // Counted per tenant and fan-out tier; a tenant of its own, as other tests add to the counter meanwhile.
        var key = new StreamKey("conflation-tenant", "stage", "0");
        long conflated = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == RouterMeter.Name && instrument.Name == "router.fanout.frames_conflated") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var tenant = false;
            var at = false;
            foreach (var tag in tags)
            {
                tenant |= tag is { Key: "tenant", Value: "conflation-tenant" };
                at |= tag is { Key: "at", Value: "camera" };
            }
            if (tenant && at) Interlocked.Add(ref conflated, value);
        });
        listener.Start();
        var (upstream, control) = Run(localAckTimeout: TimeSpan.Zero);
        var viewer = CreateTestProbe();
        control.Post(new FanOutSinkStage.Add(new Subscribe(key, "v", viewer.Ref, 0), null));
        viewer.ExpectMsg<SubscriptionStarted>();
        var stage = viewer.LastSender;
        stage.Tell(StreamAck.Instance, viewer.Ref);

        VideoFrame Of(long sequence) => new(key, TestFrames.Vtest[0], TestFrames.Width, TestFrames.Height, 1_000 + sequence, sequence, false);
        upstream.SendNext(Of(1));
        Assert.Equal(1, viewer.ExpectMsg<VideoFrame>().Sequence); // in flight, not acked yet
        upstream.SendNext(Of(2)); // pending
        upstream.SendNext(Of(3)); // replaces 2
        upstream.SendNext(Of(4)); // replaces 3
        AwaitAssert(() => Assert.Equal(2, Interlocked.Read(ref conflated)), TimeSpan.FromSeconds(5));
        stage.Tell(StreamAck.Instance, viewer.Ref);
        Assert.Equal(4, viewer.ExpectMsg<VideoFrame>().Sequence); // the newest
        Assert.Equal(2, Interlocked.Read(ref conflated));
    }

    /// <summary>Acks every frame from another thread, at once or after a short spin, racing the stage's next frame.</summary>
    private sealed class RacingAcker : ReceiveActor
    {
        public RacingAcker(long[] last)
        {
            Receive<SubscriptionStarted>(_ => Sender.Tell(StreamAck.Instance));
            Receive<VideoFrame>(frame =>
            {
                Volatile.Write(ref last[0], frame.Sequence);
                var ackTo = Sender;
                var spins = (int)(frame.Sequence % 4) * 50;
                ThreadPool.UnsafeQueueUserWorkItem(_ =>
                {
                    Thread.SpinWait(spins);
                    ackTo.Tell(StreamAck.Instance);
                }, null);
            });
        }
    }

    [Fact]
    public void A_local_subscriber_acking_from_another_thread_always_gets_the_newest_frame_without_an_ack_timeout()
    {
        // A local subscriber's ack is a flag the stage reads, plus a wake-up only while a frame waits for it. With no
        // ack timeout to rescue it, a lost wake-up would leave the last frame pending for good.
        var (upstream, control) = Run(localAckTimeout: TimeSpan.Zero);
        var last = new long[1];
        var acker = Sys.ActorOf(Props.Create(() => new RacingAcker(last)));
        control.Post(new FanOutSinkStage.Add(new Subscribe(Key, "racer", acker, 0), null));
        for (var round = 1; round <= 20; round++)
        {
            var end = round * 200L;
            for (var i = end - 199; i <= end; i++) upstream.SendNext(Frame(i));
            AwaitCondition(() => Volatile.Read(ref last[0]) == end, TimeSpan.FromSeconds(10));
        }
        Assert.False(control.Completion.IsCompleted);
    }

    [Fact]
    public void A_slot_whose_ack_never_comes_is_re_armed_after_the_ack_timeout_and_stays_in_step_afterwards()
    {
        using var timeouts = new CounterListener("router.fanout.ack_timeouts");
        var (upstream, control) = Run(localAckTimeout: TimeSpan.FromMilliseconds(300));
        var viewer = CreateTestProbe();
        var stage = Subscribe(control, viewer, "v");

        upstream.SendNext(Frame(1));
        Assert.Equal(1, viewer.ExpectMsg<VideoFrame>().Sequence);
        // The ack of frame 1 is "lost": frame 2 waits for it...
        upstream.SendNext(Frame(2));
        viewer.ExpectNoMsg(TimeSpan.FromMilliseconds(150));
        // ...until the slot's deadline passes (300 ms, swept every 150 ms).
        Assert.Equal(2, viewer.ExpectMsg<VideoFrame>(TimeSpan.FromSeconds(3)).Sequence);
        Assert.True(timeouts.Total >= 1);

        // Acks are matched to the right sends again: each frame waits for the previous one's ack, no more.
        stage.Tell(StreamAck.Instance, viewer.Ref);
        for (var i = 3; i <= 6; i++)
        {
            upstream.SendNext(Frame(i));
            Assert.Equal(i, viewer.ExpectMsg<VideoFrame>().Sequence);
            stage.Tell(StreamAck.Instance, viewer.Ref);
        }
        Assert.False(control.Completion.IsCompleted);
    }

    [Fact]
    public void A_lost_start_signal_is_sent_again()
    {
        var (upstream, control) = Run(localAckTimeout: TimeSpan.FromMilliseconds(300));
        var viewer = CreateTestProbe();
        control.Post(new FanOutSinkStage.Add(new Subscribe(Key, "v", viewer.Ref, 0), Frame(1)));
        viewer.ExpectMsg<SubscriptionStarted>(); // not acked: "lost"
        var again = viewer.ExpectMsg<SubscriptionStarted>(TimeSpan.FromSeconds(3));
        Assert.Equal("v", again.SubscriptionId);
        viewer.LastSender.Tell(StreamAck.Instance, viewer.Ref);
        Assert.Equal(1, viewer.ExpectMsg<VideoFrame>().Sequence); // the initial frame follows
        upstream.SendNext(Frame(2));
        viewer.LastSender.Tell(StreamAck.Instance, viewer.Ref);
        Assert.Equal(2, viewer.ExpectMsg<VideoFrame>().Sequence);
    }

    [Fact]
    public void Without_an_ack_timeout_a_slot_keeps_waiting()
    {
        var (upstream, control) = Run(localAckTimeout: TimeSpan.Zero);
        var viewer = CreateTestProbe();
        Subscribe(control, viewer, "v");
        upstream.SendNext(Frame(1));
        viewer.ExpectMsg<VideoFrame>();
        upstream.SendNext(Frame(2));
        viewer.ExpectNoMsg(TimeSpan.FromMilliseconds(700));
    }

    [Theory]
    [InlineData(1e-17, FanOutSinkStage.MaxIntervalMs)]
    [InlineData(double.Epsilon, FanOutSinkStage.MaxIntervalMs)]
    [InlineData(1e-300, FanOutSinkStage.MaxIntervalMs)]
    [InlineData(1.0 / 3600, FanOutSinkStage.MaxIntervalMs)]
    [InlineData(0.001, 1_000_000L)]
    [InlineData(1.0, 1000L)]
    [InlineData(3.0, 334L)]
    [InlineData(1000.0, 1L)]
    [InlineData(1e308, 1L)]
    [InlineData(double.MaxValue, 1L)]
    [InlineData(0.0, 0L)]
    [InlineData(-1.0, 0L)]
    [InlineData(double.NaN, 0L)]
    [InlineData(double.PositiveInfinity, 0L)]
    [InlineData(double.NegativeInfinity, 0L)]
    public void Max_fps_maps_to_a_bounded_interval(double maxFps, long expectedMs) =>
        Assert.Equal(expectedMs, FanOutSinkStage.MinIntervalMs(maxFps));

    [Fact]
    public void Extreme_max_fps_subscribers_do_not_break_the_stage_and_the_others_get_every_frame()
    {
        var (upstream, control) = Run(localAckTimeout: TimeSpan.FromSeconds(30));
        double[] extremes = [1e-17, double.Epsilon, 1e-300, double.NaN, double.PositiveInfinity, -1, 1e308, double.MaxValue];
        var odd = extremes.Select((fps, i) => (Fps: fps, Probe: CreateTestProbe())).ToList();
        var stages = odd.Select((s, i) => Subscribe(control, s.Probe, $"odd-{i}", s.Fps)).ToList();
        var normal = CreateTestProbe();
        var stage = Subscribe(control, normal, "normal");

        for (var i = 1; i <= 10; i++)
        {
            upstream.SendNext(Frame(i));
            Assert.Equal(i, normal.ExpectMsg<VideoFrame>().Sequence);
            stage.Tell(StreamAck.Instance, normal.Ref);
            for (var j = 0; j < odd.Count; j++)
            {
                var (fps, probe) = odd[j];
                var tiny = FanOutSinkStage.MinIntervalMs(fps) == FanOutSinkStage.MaxIntervalMs;
                // A tiny max_fps gets its first frame, then is paced at one frame per hour; the rest get every frame.
                if (!tiny || i == 1)
                {
                    Assert.Equal(i, probe.ExpectMsg<VideoFrame>().Sequence);
                    stages[j].Tell(StreamAck.Instance, probe.Ref);
                }
            }
        }
        foreach (var (fps, probe) in odd.Where(o => FanOutSinkStage.MinIntervalMs(o.Fps) == FanOutSinkStage.MaxIntervalMs)) probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.False(control.Completion.IsCompleted);
    }

    /// <summary>An actor reference whose every Tell throws (a broken subscriber).</summary>
    private sealed class ThrowingRef(ActorPath path, IActorRefProvider provider) : MinimalActorRef
    {
        public override ActorPath Path { get; } = path;
        public override IActorRefProvider Provider { get; } = provider;

        protected override void TellInternal(object message, IActorRef sender) => throw new InvalidOperationException("broken subscriber");
    }

    [Fact]
    public void A_subscriber_whose_tell_throws_is_dropped_and_the_others_keep_getting_frames()
    {
        using var failures = new CounterListener("router.fanout.send_failures");
        var (upstream, control) = Run(localAckTimeout: TimeSpan.FromSeconds(30));
        var first = CreateTestProbe();
        var firstStage = Subscribe(control, first, "first");
        var provider = ((ExtendedActorSystem)Sys).Provider;
        control.Post(new FanOutSinkStage.Add(new Subscribe(Key, "broken", new ThrowingRef(provider.RootPath / "user" / "broken", provider), 0), Frame(0)));
        var second = CreateTestProbe();
        var secondStage = Subscribe(control, second, "second");

        for (var i = 1; i <= 5; i++)
        {
            upstream.SendNext(Frame(i));
            Assert.Equal(i, first.ExpectMsg<VideoFrame>().Sequence);
            Assert.Equal(i, second.ExpectMsg<VideoFrame>().Sequence);
            firstStage.Tell(StreamAck.Instance, first.Ref);
            secondStage.Tell(StreamAck.Instance, second.Ref);
        }
        Assert.False(control.Completion.IsCompleted);
        Assert.True(failures.Total >= 1);
    }

    [Fact]
    public async Task A_throw_inside_the_stage_fails_its_completion_with_that_error()
    {
        var (_, control) = Run(localAckTimeout: TimeSpan.FromSeconds(30));
        var viewer = CreateTestProbe();
        Subscribe(control, viewer, "v");
        control.Post(new FanOutSinkStage.Crash(new InvalidOperationException("bug in the stage")));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => control.Completion.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal("bug in the stage", error.Message);
    }

    [Fact]
    public void Commands_posted_before_the_stage_starts_are_applied_in_order()
    {
        var stage = new FanOutSinkStage(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        var viewer = CreateTestProbe();
        var upstream = this.CreateManualPublisherProbe<VideoFrame>();
        // Post through the handle right after materialization, before the interpreter has run the stage's PreStart.
        var control = Source.FromPublisher(upstream).ToMaterialized(Sink.FromGraph(stage), Keep.Right).Run(_materializer);
        control.Post(new FanOutSinkStage.Add(new Subscribe(Key, "a", viewer.Ref, 0), null));
        control.Post(new FanOutSinkStage.Remove("a", Silent: false));
        control.Post(new FanOutSinkStage.Add(new Subscribe(Key, "b", viewer.Ref, 0), null));
        Assert.Equal("a", viewer.ExpectMsg<SubscriptionStarted>().SubscriptionId);
        Assert.Equal("a", viewer.ExpectMsg<SubscriptionCompleted>().SubscriptionId);
        Assert.Equal("b", viewer.ExpectMsg<SubscriptionStarted>().SubscriptionId);
    }
}
