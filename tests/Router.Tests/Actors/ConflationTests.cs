using Akka.Actor;
using Akka.TestKit.Xunit2;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Actors;

/// <summary>A slow subscriber loses only its own frames; a fast one on the same camera gets nearly all.</summary>
public sealed class ConflationTests() : TestKit(RouterTestConfig.SerializeEverything)
{
    private static readonly StreamKey Key = new("acme", "cam", "0");

    /// <summary>Acks each frame after <c>ackDelay</c> and records the sequence numbers it received.</summary>
    private sealed class RecordingSubscriber : ReceiveActor
    {
        public RecordingSubscriber(List<long> received, TimeSpan ackDelay)
        {
            Receive<SubscriptionStarted>(_ => Sender.Tell(StreamAck.Instance));
            Receive<VideoFrame>(f =>
            {
                lock (received) received.Add(f.Sequence);
                if (ackDelay == TimeSpan.Zero) Sender.Tell(StreamAck.Instance);
                else Context.System.Scheduler.ScheduleTellOnce(ackDelay, Sender, StreamAck.Instance, Self);
            });
        }
    }

    [Fact]
    public async Task Slow_subscriber_gets_frames_in_order_ending_with_the_newest_while_a_fast_one_gets_at_least_95_percent()
    {
        var camera = Sys.ActorOf(CameraActor.Props(Key.EntityId, new CameraOptions(), PullSourceCatalog.Empty, CreateTestProbe().Ref));
        var fast = new List<long>();
        var slow = new List<long>();
        camera.Tell(new Subscribe(Key, "fast", Sys.ActorOf(Props.Create(() => new RecordingSubscriber(fast, TimeSpan.Zero))), 0));
        camera.Tell(new Subscribe(Key, "slow", Sys.ActorOf(Props.Create(() => new RecordingSubscriber(slow, TimeSpan.FromMilliseconds(200)))), 0));

        const int frames = 120;
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var clock = new PeriodicTimer(TimeSpan.FromMilliseconds(10)); // a 100 fps camera
        for (var i = 0; i < frames; i++)
        {
            await clock.WaitForNextTickAsync();
            var reply = await camera.Ask<IRouterMessage>(new IngestFrame(Key, TestFrames.Vtest[i % TestFrames.Vtest.Count], start + i, null), TimeSpan.FromSeconds(5));
            Assert.IsType<FrameAccepted>(reply);
        }

        AwaitAssert(() =>
        {
            lock (slow) Assert.Equal(frames, slow[^1]);
            lock (fast) Assert.Equal(frames, fast[^1]);
        }, TimeSpan.FromSeconds(10));
        lock (fast)
        {
            Assert.True(fast.Count >= frames * 0.95, $"fast subscriber got {fast.Count} of {frames}");
            Assert.Equal(fast.OrderBy(s => s), fast);
        }
        lock (slow)
        {
            Assert.True(slow.Count < frames / 2, $"slow subscriber got {slow.Count} of {frames}: it should have lost most");
            Assert.Equal(slow.Distinct().OrderBy(s => s), slow);
        }
    }

    [Fact]
    public async Task Max_fps_caps_one_subscribers_rate()
    {
        var camera = Sys.ActorOf(CameraActor.Props(Key.EntityId, new CameraOptions(), PullSourceCatalog.Empty, CreateTestProbe().Ref));
        var capped = new List<long>();
        camera.Tell(new Subscribe(Key, "capped", Sys.ActorOf(Props.Create(() => new RecordingSubscriber(capped, TimeSpan.Zero))), 5));
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        // A 50 fps camera sends a fixed number of frames; the cap is checked against the time that actually took,
        // so a starved test machine (a slower camera) widens the bound instead of failing the test.
        const int frames = 100;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var clock = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        for (var i = 0; i < frames; i++)
        {
            await clock.WaitForNextTickAsync();
            await camera.Ask<IRouterMessage>(new IngestFrame(Key, TestFrames.Vtest[i % 10], start + i, null), TimeSpan.FromSeconds(5));
        }
        var seconds = watch.Elapsed.TotalSeconds;
        int count;
        lock (capped) count = capped.Count;
        // 5 fps for ~2 s is about 10 frames (+1 for the first, +1 for rounding) of the 100 the camera sent.
        Assert.InRange(count, 3, (int)Math.Ceiling(seconds * 5) + 2);
        Assert.True(count < frames / 2, $"capped subscriber got {count} of {frames} frames in {seconds:F1} s");
    }
}
