using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Router.Bench.Wire;

/// <summary>
/// The wire formats the benchmark speaks, written here from the protocol description (the bench does not reference
/// src/): the binary frame layout of <c>/ws/device</c> and <c>format=binary</c>
/// (<c>0x01 | u8 len | source_id | u8 len | camera_id | u32 BE width | u32 BE height | i64 BE timestamp_ms | JPEG</c>)
/// and the Plexus <c>video_frame</c> JSON text, built the same way as Router's PlexusJson (Utf8JsonWriter, same
/// property order), so the floor sends byte-identical messages.
/// </summary>
internal static class FrameWire
{
    public const byte FrameType = 0x01;

    public static int HeaderLength(string sourceId, string cameraId) =>
        1 + 1 + Encoding.UTF8.GetByteCount(sourceId) + 1 + Encoding.UTF8.GetByteCount(cameraId) + 4 + 4 + 8;

    public static int WriteHeader(Span<byte> destination, string sourceId, string cameraId, int width, int height, long timestampMs)
    {
        var pos = 0;
        destination[pos++] = FrameType;
        pos += WriteShortString(sourceId, destination[pos..]);
        pos += WriteShortString(cameraId, destination[pos..]);
        BinaryPrimitives.WriteUInt32BigEndian(destination[pos..], (uint)width); pos += 4;
        BinaryPrimitives.WriteUInt32BigEndian(destination[pos..], (uint)height); pos += 4;
        BinaryPrimitives.WriteInt64BigEndian(destination[pos..], timestampMs); pos += 8;
        return pos;
    }

    /// <summary>Header + JPEG in a new array (what Router's BinaryFrameCodec.Encode returns).</summary>
    public static byte[] EncodeBinary(string sourceId, string cameraId, int width, int height, long timestampMs, ReadOnlySpan<byte> jpeg)
    {
        var buffer = new byte[HeaderLength(sourceId, cameraId) + jpeg.Length];
        var n = WriteHeader(buffer, sourceId, cameraId, width, height, timestampMs);
        jpeg.CopyTo(buffer.AsSpan(n));
        return buffer;
    }

    /// <summary>Full decode of a binary frame message (allocates the id strings).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> message, out string sourceId, out string cameraId, out int width, out int height,
        out long timestampMs, out int jpegOffset)
    {
        sourceId = cameraId = string.Empty;
        width = height = jpegOffset = 0;
        timestampMs = 0;
        if (message.Length < 19 || message[0] != FrameType) return false;
        var pos = 1;
        int sl = message[pos];
        if (message.Length < pos + 1 + sl + 1) return false;
        sourceId = Encoding.UTF8.GetString(message.Slice(pos + 1, sl));
        pos += 1 + sl;
        int cl = message[pos];
        if (message.Length < pos + 1 + cl + 16) return false;
        cameraId = Encoding.UTF8.GetString(message.Slice(pos + 1, cl));
        pos += 1 + cl;
        width = (int)BinaryPrimitives.ReadUInt32BigEndian(message[pos..]); pos += 4;
        height = (int)BinaryPrimitives.ReadUInt32BigEndian(message[pos..]); pos += 4;
        timestampMs = BinaryPrimitives.ReadInt64BigEndian(message[pos..]); pos += 8;
        jpegOffset = pos;
        return true;
    }

    /// <summary>Reads only the timestamp of a binary frame message (no allocation): the consumer's hot path.</summary>
    public static bool TryReadBinaryTimestamp(ReadOnlySpan<byte> message, out long timestampMs)
    {
        timestampMs = 0;
        if (message.Length < 19 || message[0] != FrameType) return false;
        var pos = 1 + 1 + message[1];
        if (message.Length < pos + 1) return false;
        pos += 1 + message[pos];
        if (message.Length < pos + 16) return false;
        timestampMs = BinaryPrimitives.ReadInt64BigEndian(message[(pos + 8)..]);
        return true;
    }

    /// <summary>The Plexus consumer <c>video_frame</c> text, exactly as Router's PlexusJson.BuildVideoFrame builds it.</summary>
    public static byte[] BuildVideoFrameJson(string sourceId, string cameraId, ReadOnlySpan<byte> jpeg, int width, int height, long timestampMs)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(((jpeg.Length + 2) / 3 * 4) + 160 + sourceId.Length + cameraId.Length);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("type", "video_frame");
            w.WriteString("source_id", sourceId);
            w.WriteString("camera_id", cameraId);
            w.WriteBase64String("frame", jpeg);
            w.WriteNumber("width", width);
            w.WriteNumber("height", height);
            w.WriteNumber("timestamp", timestampMs);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static ReadOnlySpan<byte> TimestampKey => "\"timestamp\":"u8;
    private static ReadOnlySpan<byte> VideoFramePrefix => "{\"type\":\"video_frame\""u8;

    /// <summary>
    /// Reads the timestamp of a <c>video_frame</c> JSON text from its last bytes (the writer puts it last), without
    /// parsing the base64 body: the consumer's hot path. Returns false for other messages (init, error).
    /// </summary>
    public static bool TryReadJsonTimestamp(ReadOnlySpan<byte> message, out long timestampMs)
    {
        timestampMs = 0;
        if (!message.StartsWith(VideoFramePrefix)) return false;
        var tail = message[Math.Max(0, message.Length - 64)..];
        var at = tail.LastIndexOf(TimestampKey);
        if (at < 0) return false;
        var digits = tail[(at + TimestampKey.Length)..];
        long value = 0;
        var any = false;
        foreach (var b in digits)
        {
            if (b is >= (byte)'0' and <= (byte)'9') { value = value * 10 + (b - '0'); any = true; }
            else if (b == (byte)' ' && !any) continue;
            else break;
        }
        timestampMs = value;
        return any;
    }

    private static int WriteShortString(string value, Span<byte> destination)
    {
        var count = Encoding.UTF8.GetByteCount(value);
        if (count > 255) throw new ArgumentException("identifier longer than 255 UTF-8 bytes");
        destination[0] = (byte)count;
        Encoding.UTF8.GetBytes(value, destination[1..]);
        return 1 + count;
    }
}
