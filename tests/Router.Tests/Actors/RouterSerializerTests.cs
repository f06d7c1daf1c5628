using Akka.Actor;
using Akka.Serialization;
using Akka.TestKit.Xunit2;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Actors.Serialization;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Actors;

public sealed class RouterSerializerTests() : TestKit(RouterTestConfig.SerializeEverything)
{
    private static readonly StreamKey Key = new("acme", "robot-01", "front/left:0");

    private T RoundTrip<T>(T message) where T : notnull
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<RouterSerializer>(serializer);
        var bytes = serializer.ToBinary(message);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        return Assert.IsType<T>(Sys.Serialization.Deserialize(bytes, serializer.Identifier, manifest));
    }

    [Fact]
    public void VideoFrame_round_trips_with_payload_byte_identical()
    {
        var jpeg = TestFrames.Vtest[0];
        var frame = new VideoFrame(Key, jpeg, 768, 576, 1_732_000_000_123, 42, true);
        var copy = RoundTrip(frame);
        Assert.Equal(Key, copy.Key);
        Assert.Equal(jpeg, copy.Jpeg);
        Assert.Equal((768, 576, 1_732_000_000_123L, 42L, true), (copy.Width, copy.Height, copy.TimestampMs, copy.Sequence, copy.Reencoded));
    }

    [Fact]
    public void VideoFrame_is_a_binary_header_plus_payload_not_base64()
    {
        var jpeg = TestFrames.Vtest[1];
        var frame = new VideoFrame(Key, jpeg, 768, 576, 1, 1, false);
        var bytes = new RouterSerializer((ExtendedActorSystem)Sys).ToBinary(frame);
        Assert.True(bytes.Length - jpeg.Length < 100, $"header is {bytes.Length - jpeg.Length} bytes");
        Assert.True(bytes.AsSpan().EndsWith(jpeg), "payload is the raw JPEG at the end");
    }

    [Fact]
    public void Control_messages_round_trip()
    {
        Assert.Equal(new IngestFrame(Key, [1, 2, 3], 99, "linux").Jpeg, RoundTrip(new IngestFrame(Key, [1, 2, 3], 99, "linux")).Jpeg);
        Assert.Null(RoundTrip(new IngestFrame(Key, [1], 99, null)).Platform);
        Assert.Equal(new FrameAccepted(1, 2, 3, true), RoundTrip(new FrameAccepted(1, 2, 3, true)));
        Assert.Equal(new FrameRejected(FrameRejectReason.TooLarge, "big"), RoundTrip(new FrameRejected(FrameRejectReason.TooLarge, "big")));
        Assert.Equal(new Unsubscribe(Key, "s1"), RoundTrip(new Unsubscribe(Key, "s1")));
        Assert.Equal(new SubscriptionStarted(Key, "s1"), RoundTrip(new SubscriptionStarted(Key, "s1")));
        Assert.Equal(new SubscriptionCompleted(Key, "s1"), RoundTrip(new SubscriptionCompleted(Key, "s1")));
        Assert.Equal(new SubscriptionFailed(Key, "s1", "x"), RoundTrip(new SubscriptionFailed(Key, "s1", "x")));
        Assert.Same(StreamAck.Instance, RoundTrip(StreamAck.Instance));
        Assert.Equal(new GetCameraStatus(Key), RoundTrip(new GetCameraStatus(Key)));
        Assert.Equal(new GetSnapshot(Key), RoundTrip(new GetSnapshot(Key)));
        var status = new CameraStatus(Key, true, "linux", 123, 9.5, 768, 576, 3);
        Assert.Equal(status, RoundTrip(status));
        Assert.Null(RoundTrip(new Snapshot(Key, null)).Frame);
        Assert.Equal(TestFrames.Vtest[2], RoundTrip(new Snapshot(Key, new VideoFrame(Key, TestFrames.Vtest[2], 768, 576, 5, 6, false))).Frame!.Jpeg);
    }

    [Fact]
    public void Subscribe_carries_a_resolvable_actor_reference()
    {
        var copy = RoundTrip(new Subscribe(Key, "sub-1", TestActor, 2.5));
        Assert.Equal(TestActor, copy.Subscriber);
        Assert.Equal(2.5, copy.MaxFps);
        copy.Subscriber.Tell("ping");
        ExpectMsg("ping");
    }

    [Fact]
    public void Truncated_input_is_a_serialization_error()
    {
        var serializer = new RouterSerializer((ExtendedActorSystem)Sys);
        var bytes = serializer.ToBinary(new VideoFrame(Key, [0xFF, 0xD8, 0xFF, 0xD9], 1, 1, 1, 1, false));
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary(bytes[..^3], "F"));
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary(bytes, "nope"));
    }
}
