using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using CsCheck;
using Router.Actors.Directory;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Actors.Serialization;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Fuzz;

/// <summary>
/// Fuzz property over <see cref="RouterSerializer.FromBinary"/> on a real remoting actor system: random and mutated
/// payloads under known and random manifests either deserialize or throw <see cref="SerializationException"/>, and
/// never allocate much more than the payload's own size.
/// </summary>
public sealed class SerializerFuzzTests : IDisposable
{
    private static readonly StreamKey Key = new("acme", "robot-01", "front");
    private readonly ActorSystem _system = ActorSystem.Create("fuzz", ConfigurationFactory.ParseString("""
        akka.actor.provider = remote
        akka.remote.dot-netty.tcp.hostname = 127.0.0.1
        akka.remote.dot-netty.tcp.port = 0
        akka.loglevel = WARNING
        """));
    private readonly RouterSerializer _serializer;
    private readonly List<(string Manifest, byte[] Bytes)> _seeds = [];

    public SerializerFuzzTests()
    {
        _serializer = new RouterSerializer((ExtendedActorSystem)_system);
        var subscriber = _system.DeadLetters;
        var frame = new VideoFrame(Key, TestFrames.Vtest[0][..2000], 768, 576, 1_763_900_000_123, 7, false);
        object[] messages =
        [
            frame,
            new IngestFrame(Key, [0xFF, 0xD8, 0xFF, 0xD9], 5, "linux") { TimeoutMs = 5000 },
            new FrameAccepted(768, 576, 1000, true),
            new FrameRejected(FrameRejectReason.TooManyPixels, "too many"),
            new Subscribe(Key, "sub-1", subscriber, 2.5),
            new Unsubscribe(Key, "sub-1"),
            new SubscriptionStarted(Key, "sub-1"),
            new SubscriptionCompleted(Key, "sub-1"),
            new SubscriptionFailed(Key, "sub-1", "why"),
            StreamAck.Instance,
            new GetCameraStatus(Key),
            new CameraStatus(Key, true, "linux", 1, 9.5, 768, 576, 2),
            new GetSnapshot(Key),
            new Snapshot(Key, frame),
            new Snapshot(Key, null),
            new ConsumerCounts("gw-1", [new ConsumerCount(Key, 3), new ConsumerCount(Key with { CameraId = "rear" }, 1)]),
        ];
        foreach (var message in messages) _seeds.Add((_serializer.Manifest(message), _serializer.ToBinary(message)));
    }

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));

    [Fact]
    public void FromBinary_throws_only_SerializationException_and_allocates_about_the_input_size()
    {
        var manifests = _seeds.Select(s => s.Manifest).Distinct().ToArray();
        // Mostly a message mutated under its own manifest (reaches deep into the reader), else random bytes and manifests.
        var mutatedSeed = from index in Gen.Int[0, _seeds.Count - 1]
                          from seed in Gen.Int
                          select (_seeds[index].Manifest, Mutations.Mutate(_seeds[index].Bytes, new Random(seed)));
        var random = Gen.Select(Gen.Frequency((9, Gen.OneOf(manifests)), (1, Gen.String[0, 3])), Mutations.RandomBytes(96));
        Gen.Frequency((4, mutatedSeed), (1, random)).Sample((m, bytes) =>
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                var message = _serializer.FromBinary(bytes, m);
                Assert.NotNull(message);
                if (message is Subscribe s) Assert.True(double.IsFinite(s.MaxFps) && s.MaxFps >= 0);
                if (message is VideoFrame f) Assert.True(f.Width is >= 0 and <= 65535 && f.Height is >= 0 and <= 65535);
            }
            catch (SerializationException)
            {
                // The documented error.
            }
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 256 * 1024 + 8L * bytes.Length, $"{allocated} bytes allocated for a {bytes.Length}-byte payload");
        }, iter: 20_000); // cheap per case (about 0.1 ms): more iterations find corrupt lengths at the right offsets
    }

    [Fact]
    public void Every_seed_round_trips_so_the_mutations_start_from_valid_messages()
    {
        foreach (var (manifest, bytes) in _seeds) Assert.NotNull(_serializer.FromBinary(bytes, manifest));
    }

    [Theory]
    [InlineData("I")]
    [InlineData("F")]
    [InlineData("N")]
    public void A_corrupt_length_near_int_MaxValue_is_a_SerializationException_not_an_overflow(string manifest)
    {
        // key "a","b","c", then 8 + 1 bytes (timestamp and platform, or width/height), then a length of 0x7FFFFFF0.
        var bytes = new List<byte> { 1, (byte)'a', 1, (byte)'b', 1, (byte)'c' };
        bytes.AddRange(new byte[manifest == "F" ? 25 : manifest == "N" ? 1 : 9]);
        if (manifest == "N") bytes[^1] = 1;
        bytes.AddRange([0x7F, 0xFF, 0xFF, 0xF0, 1, 2, 3]);
        Assert.Throws<SerializationException>(() => _serializer.FromBinary(bytes.ToArray(), manifest));
    }

    [Fact]
    public void An_ingest_frame_from_an_earlier_version_without_timeout_reads_as_no_deadline()
    {
        var bytes = _serializer.ToBinary(new IngestFrame(Key, [1, 2, 3], 5, null) { TimeoutMs = 4000 });
        var old = bytes[..^8];
        var read = Assert.IsType<IngestFrame>(_serializer.FromBinary(old, "I"));
        Assert.Equal(0, read.TimeoutMs);
        Assert.Equal(4000, Assert.IsType<IngestFrame>(_serializer.FromBinary(bytes, "I")).TimeoutMs);
    }
}
