using Akka.Actor;
using Akka.TestKit.Xunit2;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Actors.Gateway;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Actors;

/// <summary>
/// One bad subscriber of a camera (an extreme max_fps, a reference whose Tell throws) leaves the camera's other
/// subscribers getting frames: through the real camera entity and a real gateway relay.
/// </summary>
public sealed class FanOutFaultTests() : TestKit("akka.loglevel = WARNING")
{
    private static readonly StreamKey Key = new("acme", "faults", "0");

    /// <summary>Acks at once and counts frames.</summary>
    private sealed class CountingConsumer : ReceiveActor
    {
        public CountingConsumer(int[] frames)
        {
            Receive<SubscriptionStarted>(_ => Sender.Tell(StreamAck.Instance));
            Receive<VideoFrame>(_ =>
            {
                Interlocked.Increment(ref frames[0]);
                Sender.Tell(StreamAck.Instance);
            });
        }
    }

    /// <summary>An actor reference whose every Tell throws.</summary>
    private sealed class ThrowingRef(ActorPath path, IActorRefProvider provider) : MinimalActorRef
    {
        public override ActorPath Path { get; } = path;
        public override IActorRefProvider Provider { get; } = provider;

        protected override void TellInternal(object message, IActorRef sender) => throw new InvalidOperationException("broken subscriber");
    }

    private (IActorRef Camera, IActorRef Relays, IDisposable Feed) Start()
    {
        var camera = Sys.ActorOf(CameraActor.Props(Key.EntityId, new CameraOptions(), PullSourceCatalog.Empty, ActorRefs.Nobody));
        var relays = Sys.ActorOf(CameraRelaysActor.Props(camera, new CameraOptions()));
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var feed = StreamRecoveryTests.Camera(i =>
            camera.Tell(new IngestFrame(Key, TestFrames.Vtest[(int)(i % TestFrames.Vtest.Count)], start + i, null), ActorRefs.Nobody));
        return (camera, relays, feed);
    }

    /// <summary>
    /// The normal viewer keeps getting frames: 10 more after the bad subscription was made, within 10 s. The fault this
    /// guards against (a bad subscriber stopping the stream) stops it for good, so the window only needs to cover a
    /// loaded 2-core CI machine (25 fps would bring 10 frames in 0.4 s); a 3 s window failed there once.
    /// </summary>
    private void AssertKeepsFlowing(int[] normal)
    {
        var before = Volatile.Read(ref normal[0]);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            AwaitCondition(() => Volatile.Read(ref normal[0]) >= before + 10, TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new Xunit.Sdk.XunitException(
                $"the normal viewer got {Volatile.Read(ref normal[0]) - before} of 10 more frames in {waited.ElapsedMilliseconds} ms: {e.Message}");
        }
    }

    [Theory]
    [InlineData(1e-17)]
    [InlineData(double.Epsilon)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(-1.0)]
    [InlineData(double.MaxValue)]
    public void A_viewer_with_an_extreme_max_fps_does_not_stop_the_other_viewers_of_the_camera(double maxFps)
    {
        var (_, relays, feed) = Start();
        using (feed)
        {
            var normal = new int[1];
            relays.Tell(new Subscribe(Key, "normal", Sys.ActorOf(Props.Create(() => new CountingConsumer(normal))), 0));
            AwaitCondition(() => Volatile.Read(ref normal[0]) > 0, TimeSpan.FromSeconds(5));

            var odd = new int[1];
            relays.Tell(new Subscribe(Key, "odd", Sys.ActorOf(Props.Create(() => new CountingConsumer(odd))), maxFps));
            AssertKeepsFlowing(normal);
            AssertKeepsFlowing(normal);
            Assert.True(Volatile.Read(ref odd[0]) >= 1, "the extreme subscriber gets at least its first frame");
            if (FanOutSinkStage.MinIntervalMs(maxFps) == FanOutSinkStage.MaxIntervalMs) Assert.Equal(1, Volatile.Read(ref odd[0]));
        }
    }

    [Fact]
    public void A_subscriber_whose_tell_throws_does_not_stop_the_camera_or_the_relay_for_the_others()
    {
        var (camera, relays, feed) = Start();
        using (feed)
        {
            var atCamera = new int[1];
            var atRelay = new int[1];
            camera.Tell(new Subscribe(Key, "direct", Sys.ActorOf(Props.Create(() => new CountingConsumer(atCamera))), 0));
            relays.Tell(new Subscribe(Key, "relayed", Sys.ActorOf(Props.Create(() => new CountingConsumer(atRelay))), 0));
            AwaitCondition(() => Volatile.Read(ref atCamera[0]) > 0 && Volatile.Read(ref atRelay[0]) > 0, TimeSpan.FromSeconds(5));

            var provider = ((ExtendedActorSystem)Sys).Provider;
            camera.Tell(new Subscribe(Key, "broken-1", new ThrowingRef(provider.RootPath / "user" / "broken-1", provider), 0));
            relays.Tell(new Subscribe(Key, "broken-2", new ThrowingRef(provider.RootPath / "user" / "broken-2", provider), 0));
            AssertKeepsFlowing(atCamera);
            AssertKeepsFlowing(atRelay);
        }
    }
}
