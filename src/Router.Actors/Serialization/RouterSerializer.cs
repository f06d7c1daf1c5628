using System.Buffers.Binary;
using System.Text;
using Akka.Actor;
using System.Runtime.Serialization;
using Akka.Serialization;
using Router.Actors.Directory;
using Router.Actors.Identity;
using Router.Actors.Messages;

namespace Router.Actors.Serialization;

/// <summary>
/// Binary serializer for every <see cref="IRouterMessage"/>. Frames are a compact binary header followed by the raw
/// JPEG payload (never JSON or base64). Integers are big-endian; strings are a varint byte count plus UTF-8; actor
/// references are their serialized actor paths.
/// </summary>
/// <remarks>
/// <c>VideoFrame</c> (manifest <c>F</c>): <c>key | u32 width | u32 height | i64 timestamp_ms | i64 sequence | u8 reencoded | u32 length | JPEG</c>.
/// <c>IngestFrame</c> (manifest <c>I</c>): <c>key | i64 timestamp_ms | string platform | u32 length | JPEG | i64 timeout_ms</c>,
/// where <c>key</c> is <c>string tenant | string source_id | string camera_id</c> (<c>timeout_ms</c> may be absent:
/// 0, as written by earlier versions).
/// <para><see cref="FromBinary"/> trusts nothing in the bytes: every length is checked against the bytes that remain
/// before anything is allocated (so it never allocates more than about the input's size), and malformed, truncated or
/// out-of-range input (unknown manifest, width or height over 65535, a non-finite or negative <c>max_fps</c>, an actor
/// path that does not resolve) throws <see cref="SerializationException"/>, the only exception it throws.</para>
/// </remarks>
internal sealed class RouterSerializer : SerializerWithStringManifest
{
    /// <summary>The serializer id registered with Akka (unique in the system).</summary>
    public const int SerializerId = 4171;

    private const string VideoFrameManifest = "F";
    private const string IngestFrameManifest = "I";
    private const string FrameAcceptedManifest = "FA";
    private const string FrameRejectedManifest = "FR";
    private const string SubscribeManifest = "S";
    private const string UnsubscribeManifest = "U";
    private const string SubscriptionStartedManifest = "SS";
    private const string SubscriptionCompletedManifest = "SC";
    private const string SubscriptionFailedManifest = "SF";
    private const string StreamAckManifest = "A";
    private const string GetCameraStatusManifest = "GS";
    private const string CameraStatusManifest = "CS";
    private const string GetSnapshotManifest = "GN";
    private const string SnapshotManifest = "N";
    private const string ConsumerCountsManifest = "VC";

    /// <summary>Creates the serializer for <paramref name="system"/>.</summary>
    public RouterSerializer(ExtendedActorSystem system) : base(system)
    {
    }

    /// <inheritdoc />
    public override int Identifier => SerializerId;

    /// <inheritdoc />
    public override string Manifest(object o) => o switch
    {
        VideoFrame => VideoFrameManifest,
        IngestFrame => IngestFrameManifest,
        FrameAccepted => FrameAcceptedManifest,
        FrameRejected => FrameRejectedManifest,
        Subscribe => SubscribeManifest,
        Unsubscribe => UnsubscribeManifest,
        SubscriptionStarted => SubscriptionStartedManifest,
        SubscriptionCompleted => SubscriptionCompletedManifest,
        SubscriptionFailed => SubscriptionFailedManifest,
        StreamAck => StreamAckManifest,
        GetCameraStatus => GetCameraStatusManifest,
        CameraStatus => CameraStatusManifest,
        GetSnapshot => GetSnapshotManifest,
        Snapshot => SnapshotManifest,
        ConsumerCounts => ConsumerCountsManifest,
        _ => throw new ArgumentException($"RouterSerializer cannot serialize {o.GetType()}", nameof(o)),
    };

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        switch (obj)
        {
            case VideoFrame f: return WriteVideoFrame(f);
            case IngestFrame f: return WriteIngestFrame(f);
        }
        var w = new Writer();
        switch (obj)
        {
            case FrameAccepted m:
                w.Int32(m.Width); w.Int32(m.Height); w.Int32(m.Bytes); w.Bool(m.Reencoded);
                break;
            case FrameRejected m:
                w.Int32((int)m.Reason); w.String(m.Message);
                break;
            case Subscribe m:
                w.Key(m.Key); w.String(m.SubscriptionId); w.String(Akka.Serialization.Serialization.SerializedActorPath(m.Subscriber)); w.Double(m.MaxFps);
                break;
            case Unsubscribe m:
                w.Key(m.Key); w.String(m.SubscriptionId);
                break;
            case SubscriptionStarted m:
                w.Key(m.Key); w.String(m.SubscriptionId);
                break;
            case SubscriptionCompleted m:
                w.Key(m.Key); w.String(m.SubscriptionId);
                break;
            case SubscriptionFailed m:
                w.Key(m.Key); w.String(m.SubscriptionId); w.String(m.Reason);
                break;
            case StreamAck:
                break;
            case GetCameraStatus m:
                w.Key(m.Key);
                break;
            case GetSnapshot m:
                w.Key(m.Key);
                break;
            case CameraStatus m:
                w.Key(m.Key); w.Bool(m.Online); w.String(m.Platform); w.Int64(m.LastFrameMs); w.Double(m.Fps);
                w.Int32(m.Width); w.Int32(m.Height); w.Int32(m.Relays);
                break;
            case Snapshot m:
                w.Key(m.Key);
                w.Bool(m.Frame is not null);
                if (m.Frame is not null) w.Bytes(WriteVideoFrame(m.Frame));
                break;
            case ConsumerCounts m:
                w.String(m.Origin); w.Int32(m.Counts.Count);
                foreach (var c in m.Counts) { w.Key(c.Key); w.Int32(c.Consumers); }
                break;
            default:
                throw new ArgumentException($"RouterSerializer cannot serialize {obj.GetType()}", nameof(obj));
        }
        return w.ToArray();
    }

    /// <inheritdoc />
    /// <exception cref="SerializationException">The bytes are malformed, truncated or out of range, or the manifest is unknown.</exception>
    public override object FromBinary(byte[] bytes, string manifest)
    {
        var r = new Reader(bytes);
        return manifest switch
        {
            VideoFrameManifest => ReadVideoFrame(ref r),
            IngestFrameManifest => ReadIngestFrame(ref r),
            FrameAcceptedManifest => new FrameAccepted(r.Int32(), r.Int32(), r.Int32(), r.Bool()),
            FrameRejectedManifest => new FrameRejected((FrameRejectReason)r.Int32(), r.String()),
            SubscribeManifest => new Subscribe(r.Key(), r.String(), ResolveActor(r.String()), MaxFps(r.Double())),
            UnsubscribeManifest => new Unsubscribe(r.Key(), r.String()),
            SubscriptionStartedManifest => new SubscriptionStarted(r.Key(), r.String()),
            SubscriptionCompletedManifest => new SubscriptionCompleted(r.Key(), r.String()),
            SubscriptionFailedManifest => new SubscriptionFailed(r.Key(), r.String(), r.String()),
            StreamAckManifest => StreamAck.Instance,
            GetCameraStatusManifest => new GetCameraStatus(r.Key()),
            GetSnapshotManifest => new GetSnapshot(r.Key()),
            CameraStatusManifest => new CameraStatus(r.Key(), r.Bool(), r.String(), r.Int64(), r.Double(), r.Int32(), r.Int32(), r.Int32()),
            SnapshotManifest => ReadSnapshot(ref r),
            ConsumerCountsManifest => ReadConsumerCounts(ref r),
            _ => throw new SerializationException($"RouterSerializer: unknown manifest '{manifest}'"),
        };
    }

    private static IngestFrame ReadIngestFrame(ref Reader r)
    {
        var key = r.Key();
        var timestamp = r.Int64();
        var platform = r.String();
        var jpeg = r.Bytes();
        var timeoutMs = r.Remaining >= 8 ? r.Int64() : 0;
        if (timeoutMs < 0) throw new SerializationException("RouterSerializer: negative ingest timeout");
        return new IngestFrame(key, jpeg, timestamp, platform.Length == 0 ? null : platform) { TimeoutMs = timeoutMs };
    }

    private static double MaxFps(double value) =>
        double.IsFinite(value) && value >= 0 ? value : throw new SerializationException("RouterSerializer: max_fps must be finite and not negative");

    private Snapshot ReadSnapshot(ref Reader r)
    {
        var key = r.Key();
        if (!r.Bool()) return new Snapshot(key, null);
        var inner = new Reader(r.Bytes());
        return new Snapshot(key, ReadVideoFrame(ref inner));
    }

    private static ConsumerCounts ReadConsumerCounts(ref Reader r)
    {
        var origin = r.String();
        var n = r.Int32();
        if (n < 0) throw new SerializationException("RouterSerializer: bad consumer count list");
        var counts = new List<ConsumerCount>(Math.Min(n, 4096));
        for (var i = 0; i < n; i++) counts.Add(new ConsumerCount(r.Key(), r.Int32()));
        return new ConsumerCounts(origin, counts);
    }

    private IActorRef ResolveActor(string path)
    {
        try
        {
            return system.Provider.ResolveActorRef(path);
        }
        catch (Exception e) when (e is not SerializationException)
        {
            throw new SerializationException($"RouterSerializer: actor path does not resolve: {e.Message}", e);
        }
    }

    private static byte[] WriteVideoFrame(VideoFrame f)
    {
        var size = Writer.KeySize(f.Key) + 4 + 4 + 8 + 8 + 1 + 4 + f.Jpeg.Length;
        var buffer = new byte[size];
        var w = new SpanWriter(buffer);
        w.Key(f.Key);
        w.UInt32((uint)f.Width); w.UInt32((uint)f.Height); w.Int64(f.TimestampMs); w.Int64(f.Sequence); w.Byte(f.Reencoded ? (byte)1 : (byte)0);
        w.Payload(f.Jpeg);
        return buffer;
    }

    private static VideoFrame ReadVideoFrame(ref Reader r)
    {
        var key = r.Key();
        var width = r.UInt32();
        var height = r.UInt32();
        if (width > ushort.MaxValue || height > ushort.MaxValue) throw new SerializationException("RouterSerializer: frame width/height out of range");
        var ts = r.Int64();
        var seq = r.Int64();
        var reencoded = r.Bool();
        return new VideoFrame(key, r.Bytes(), (int)width, (int)height, ts, seq, reencoded);
    }

    private static byte[] WriteIngestFrame(IngestFrame f)
    {
        var platform = f.Platform ?? string.Empty;
        var size = Writer.KeySize(f.Key) + 8 + Writer.StringSize(platform) + 4 + f.Jpeg.Length + 8;
        var buffer = new byte[size];
        var w = new SpanWriter(buffer);
        w.Key(f.Key);
        w.Int64(f.TimestampMs);
        w.String(platform);
        w.Payload(f.Jpeg);
        w.Int64(f.TimeoutMs);
        return buffer;
    }

    /// <summary>Growable writer for small control messages.</summary>
    private sealed class Writer
    {
        private readonly MemoryStream _stream = new(64);

        public static int StringSize(string s)
        {
            var n = Encoding.UTF8.GetByteCount(s);
            return VarIntSize((uint)n) + n;
        }

        public static int KeySize(StreamKey k) => StringSize(k.Tenant) + StringSize(k.SourceId) + StringSize(k.CameraId);

        public static int VarIntSize(uint v)
        {
            var n = 1;
            while (v >= 0x80) { v >>= 7; n++; }
            return n;
        }

        public void Key(StreamKey k) { String(k.Tenant); String(k.SourceId); String(k.CameraId); }

        public void String(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            VarInt((uint)bytes.Length);
            _stream.Write(bytes);
        }

        public void Bytes(byte[] b) { Int32(b.Length); _stream.Write(b); }

        public void VarInt(uint v)
        {
            while (v >= 0x80) { _stream.WriteByte((byte)(v | 0x80)); v >>= 7; }
            _stream.WriteByte((byte)v);
        }

        public void Int32(int v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteInt32BigEndian(b, v); _stream.Write(b); }

        public void Int64(long v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteInt64BigEndian(b, v); _stream.Write(b); }

        public void Double(double v) => Int64(BitConverter.DoubleToInt64Bits(v));

        public void Bool(bool v) => _stream.WriteByte(v ? (byte)1 : (byte)0);

        public byte[] ToArray() => _stream.ToArray();
    }

    /// <summary>Writer into a pre-sized array (frames: one allocation, one copy of the JPEG).</summary>
    private ref struct SpanWriter(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;
        private int _pos;

        public void Key(StreamKey k) { String(k.Tenant); String(k.SourceId); String(k.CameraId); }

        public void String(string s)
        {
            var n = Encoding.UTF8.GetByteCount(s);
            var v = (uint)n;
            while (v >= 0x80) { _buffer[_pos++] = (byte)(v | 0x80); v >>= 7; }
            _buffer[_pos++] = (byte)v;
            _pos += Encoding.UTF8.GetBytes(s, _buffer[_pos..]);
        }

        public void UInt32(uint v) { BinaryPrimitives.WriteUInt32BigEndian(_buffer[_pos..], v); _pos += 4; }

        public void Int64(long v) { BinaryPrimitives.WriteInt64BigEndian(_buffer[_pos..], v); _pos += 8; }

        public void Byte(byte v) => _buffer[_pos++] = v;

        public void Payload(ReadOnlySpan<byte> payload)
        {
            BinaryPrimitives.WriteInt32BigEndian(_buffer[_pos..], payload.Length);
            _pos += 4;
            payload.CopyTo(_buffer[_pos..]);
            _pos += payload.Length;
        }
    }

    /// <summary>Reader over a serialized message; throws <see cref="SerializationException"/> on truncated input.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _pos;

        public StreamKey Key() => new(String(), String(), String());

        public string String()
        {
            uint len = 0;
            var shift = 0;
            byte b;
            do
            {
                b = Take(1)[0];
                len |= (uint)(b & 0x7F) << shift;
                shift += 7;
                if (shift > 28) throw new SerializationException("RouterSerializer: bad string length");
            } while ((b & 0x80) != 0);
            return Encoding.UTF8.GetString(Take(checked((int)len)));
        }

        public byte[] Bytes() => Take(Int32()).ToArray();

        public int Remaining => _data.Length - _pos;

        public int Int32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

        public uint UInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

        public long Int64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

        public double Double() => BitConverter.Int64BitsToDouble(Int64());

        public bool Bool() => Take(1)[0] != 0;

        private ReadOnlySpan<byte> Take(int count)
        {
            if (count < 0 || count > _data.Length - _pos) throw new SerializationException("RouterSerializer: message is truncated");
            var span = _data.Slice(_pos, count);
            _pos += count;
            return span;
        }
    }
}
