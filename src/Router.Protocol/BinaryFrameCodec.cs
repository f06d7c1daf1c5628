using System.Buffers.Binary;
using System.Text;

namespace Router.Protocol;

/// <summary>
/// Header of one binary frame message, the layout shared by Plexus device ingest (<c>/ws/device</c>) and
/// the consumer WebSocket's <c>format=binary</c>:
/// <c>0x01 | u8 len | source_id | u8 len | camera_id | u32 BE width | u32 BE height | i64 BE timestamp_ms | JPEG bytes</c>.
/// </summary>
/// <param name="SourceId">source_id as written by the sender (ingest ignores it; the authenticated one counts).</param>
/// <param name="CameraId">camera_id, UTF-8, 0–255 bytes (empty means the default <c>camera:0</c>).</param>
/// <param name="Width">Width in pixels; 0 means unknown.</param>
/// <param name="Height">Height in pixels; 0 means unknown.</param>
/// <param name="TimestampMs">Capture time, Unix epoch milliseconds, from the device.</param>
public readonly record struct BinaryFrameHeader(string SourceId, string CameraId, int Width, int Height, long TimestampMs);

/// <summary>Encodes and decodes the binary frame layout described on <see cref="BinaryFrameHeader"/>.</summary>
public static class BinaryFrameCodec
{
    /// <summary>First byte of every binary frame message.</summary>
    public const byte FrameType = 0x01;

    /// <summary>Length in bytes of the encoded header (everything before the JPEG bytes).</summary>
    public static int HeaderLength(string sourceId, string cameraId) =>
        1 + 1 + Encoding.UTF8.GetByteCount(sourceId) + 1 + Encoding.UTF8.GetByteCount(cameraId) + 4 + 4 + 8;

    /// <summary>Encodes a whole frame message (header followed by <paramref name="jpeg"/>) into a new array.</summary>
    /// <exception cref="ArgumentException">source_id or camera_id is longer than 255 UTF-8 bytes.</exception>
    public static byte[] Encode(in BinaryFrameHeader header, ReadOnlySpan<byte> jpeg)
    {
        var buffer = new byte[HeaderLength(header.SourceId, header.CameraId) + jpeg.Length];
        var written = WriteHeader(header, buffer);
        jpeg.CopyTo(buffer.AsSpan(written));
        return buffer;
    }

    /// <summary>Writes the header into <paramref name="destination"/> and returns the number of bytes written.</summary>
    /// <exception cref="ArgumentException">source_id or camera_id is longer than 255 UTF-8 bytes, or the destination is too small.</exception>
    public static int WriteHeader(in BinaryFrameHeader header, Span<byte> destination)
    {
        var pos = 0;
        destination[pos++] = FrameType;
        pos += WriteShortString(header.SourceId, destination[pos..], nameof(header.SourceId));
        pos += WriteShortString(header.CameraId, destination[pos..], nameof(header.CameraId));
        BinaryPrimitives.WriteUInt32BigEndian(destination[pos..], (uint)header.Width); pos += 4;
        BinaryPrimitives.WriteUInt32BigEndian(destination[pos..], (uint)header.Height); pos += 4;
        BinaryPrimitives.WriteInt64BigEndian(destination[pos..], header.TimestampMs); pos += 8;
        return pos;
    }

    /// <summary>
    /// Decodes a binary frame message. On success <paramref name="jpegOffset"/> is where the JPEG bytes start in
    /// <paramref name="message"/>; the JPEG itself is not validated here.
    /// </summary>
    /// <returns>
    /// False with a reason in <paramref name="error"/> when the message is truncated, of another type, has an id that is
    /// not valid UTF-8, or a width or height over <see cref="int.MaxValue"/>. Never throws.
    /// </returns>
    public static bool TryDecode(ReadOnlySpan<byte> message, out BinaryFrameHeader header, out int jpegOffset, out string? error)
    {
        header = default;
        jpegOffset = 0;
        if (message.Length < 1 || message[0] != FrameType) { error = "binary message type must be 0x01 (video frame)"; return false; }
        var pos = 1;
        if (!TryReadShortString(message, ref pos, out var sourceId, out error) || !TryReadShortString(message, ref pos, out var cameraId, out error))
            return false;
        if (message.Length < pos + 16) { error = "binary frame header is truncated (width/height/timestamp)"; return false; }
        var width = BinaryPrimitives.ReadUInt32BigEndian(message[pos..]); pos += 4;
        var height = BinaryPrimitives.ReadUInt32BigEndian(message[pos..]); pos += 4;
        var ts = BinaryPrimitives.ReadInt64BigEndian(message[pos..]); pos += 8;
        if (width > int.MaxValue || height > int.MaxValue) { error = "width/height out of range"; return false; }
        header = new BinaryFrameHeader(sourceId, cameraId, (int)width, (int)height, ts);
        jpegOffset = pos;
        error = null;
        return true;
    }

    /// <summary>
    /// Reads only the timestamp of a binary frame message, without decoding the ids or allocating: a measuring
    /// client's hot path. The ids are not checked for valid UTF-8 (use <see cref="TryDecode"/> for that).
    /// </summary>
    /// <param name="message">One whole binary message.</param>
    /// <param name="timestampMs">Capture time, Unix epoch milliseconds, when the result is true.</param>
    /// <returns>False when the message is of another type or truncated before the end of the header. Never throws.</returns>
    public static bool TryReadTimestamp(ReadOnlySpan<byte> message, out long timestampMs)
    {
        timestampMs = 0;
        if (message.Length < 2 || message[0] != FrameType) return false;
        var pos = 1 + 1 + message[1];
        if (message.Length < pos + 1) return false;
        pos += 1 + message[pos];
        if (message.Length < pos + 16) return false;
        timestampMs = BinaryPrimitives.ReadInt64BigEndian(message[(pos + 8)..]);
        return true;
    }

    internal static int WriteShortString(string value, Span<byte> destination, string name)
    {
        var count = Encoding.UTF8.GetByteCount(value);
        if (count > 255) throw new ArgumentException($"{name} is longer than 255 UTF-8 bytes", name);
        destination[0] = (byte)count;
        Encoding.UTF8.GetBytes(value, destination[1..]);
        return 1 + count;
    }

    internal static bool TryReadShortString(ReadOnlySpan<byte> message, ref int pos, out string value, out string? error)
    {
        value = string.Empty;
        error = "binary frame header is truncated (source_id/camera_id)";
        if (message.Length < pos + 1) return false;
        int len = message[pos];
        if (message.Length < pos + 1 + len) return false;
        var utf8 = message.Slice(pos + 1, len);
        // Invalid UTF-8 is refused, not replaced with U+FFFD (two ids must not decode to one); checked first rather than
        // caught, so a hostile device sending it in every header costs no exception a frame.
        if (!System.Text.Unicode.Utf8.IsValid(utf8))
        {
            error = "binary frame header: source_id/camera_id is not valid UTF-8";
            return false;
        }
        value = Encoding.UTF8.GetString(utf8);
        pos += 1 + len;
        error = null;
        return true;
    }
}
