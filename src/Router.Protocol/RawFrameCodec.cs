using System.Buffers.Binary;
using System.Text;

namespace Router.Protocol;

/// <summary>
/// Pixel formats of raw frames (the byte after the ids in a <c>0x02</c> message, the <c>format</c> query parameter of
/// HTTP ingest). Names and layouts follow LiveKit's <c>VideoBufferType</c> (<c>BGR24</c>, OpenCV's native order and
/// what Roboflow's <c>ManualSource.send</c> takes, is not a LiveKit type). All are 8 bits per sample.
/// </summary>
public enum RawPixelFormat : byte
{
    /// <summary>Planar YUV 4:2:0: Y plane (width × height), then U and V planes (width/2 × height/2 each); 1.5 bytes per pixel.</summary>
    I420 = 1,

    /// <summary>Semi-planar YUV 4:2:0: Y plane, then one plane of interleaved U,V pairs (width × height/2); 1.5 bytes per pixel.</summary>
    Nv12 = 2,

    /// <summary>Packed R, G, B, A; 4 bytes per pixel.</summary>
    Rgba = 3,

    /// <summary>Packed B, G, R, A; 4 bytes per pixel.</summary>
    Bgra = 4,

    /// <summary>Packed R, G, B; 3 bytes per pixel.</summary>
    Rgb24 = 5,

    /// <summary>Packed B, G, R (OpenCV's and NumPy-from-OpenCV's order); 3 bytes per pixel.</summary>
    Bgr24 = 6,
}

/// <summary>
/// The geometry of one raw frame, checked: <see cref="ByteCount"/> is exactly the number of pixel bytes the frame must have.
/// </summary>
/// <param name="Format">Pixel format.</param>
/// <param name="Width">Width in pixels, 1–<see cref="RawFrameLayout.MaxDimension"/> (even for I420 and NV12).</param>
/// <param name="Height">Height in pixels, 1–<see cref="RawFrameLayout.MaxDimension"/> (even for I420 and NV12).</param>
/// <param name="Stride">
/// Bytes per row of the packed image or of the Y plane (at least <see cref="RowBytes"/>). The chroma rows of I420 are
/// <c>Stride / 2</c> bytes apart, those of NV12 <c>Stride</c> bytes. Rows are tightly packed when it equals <see cref="RowBytes"/>.
/// </param>
/// <param name="ByteCount">Pixel bytes of the whole frame, in bytes.</param>
public readonly record struct RawFrameLayout(RawPixelFormat Format, int Width, int Height, int Stride, int ByteCount)
{
    /// <summary>Largest width or height in pixels: the largest a JPEG encoder (libjpeg) writes.</summary>
    public const int MaxDimension = 65500;

    /// <summary>Width × height in pixels.</summary>
    public long Pixels => (long)Width * Height;

    /// <summary>Bytes of one row without padding: width × bytes per pixel (for I420 and NV12, of the Y plane).</summary>
    public int RowBytes => Width * RawPixelFormats.BytesPerLumaPixel(Format);

    /// <summary>True when rows carry padding (<see cref="Stride"/> above <see cref="RowBytes"/>).</summary>
    public bool IsPadded => Stride != RowBytes;

    /// <summary>
    /// Checks a frame's geometry and computes its size without overflow (all arithmetic in 64 bits on values bounded
    /// first). Never throws.
    /// </summary>
    /// <param name="format">Pixel format.</param>
    /// <param name="width">Width in pixels as sent (u32 on the wire).</param>
    /// <param name="height">Height in pixels as sent.</param>
    /// <param name="stride">Row stride in bytes as sent; 0 means tightly packed rows.</param>
    /// <param name="layout">The layout when the result is true.</param>
    /// <param name="error">Why not, when the result is false: a dimension of 0 or over <see cref="MaxDimension"/>, an odd
    /// dimension of I420/NV12, a stride below the row's bytes (or odd for I420), a size over 2^31 − 1 bytes.</param>
    public static bool TryCreate(RawPixelFormat format, long width, long height, long stride, out RawFrameLayout layout, out string? error)
    {
        layout = default;
        var name = RawPixelFormats.Name(format);
        if (name is null) { error = $"unknown raw pixel format {(int)format}"; return false; }
        if (width is < 1 or > MaxDimension || height is < 1 or > MaxDimension)
        {
            error = $"raw {name} frame: width and height must be 1–{MaxDimension} pixels (got {width}×{height})";
            return false;
        }
        var planar = format is RawPixelFormat.I420 or RawPixelFormat.Nv12;
        if (planar && (width % 2 != 0 || height % 2 != 0))
        {
            error = $"raw {name} frame: width and height must be even for 4:2:0 chroma (got {width}×{height})";
            return false;
        }
        long rowBytes = width * RawPixelFormats.BytesPerLumaPixel(format);
        if (stride == 0) stride = rowBytes;
        if (stride < rowBytes)
        {
            error = $"raw {name} frame: stride {stride} bytes is below the row's {rowBytes} bytes ({width} pixels × {RawPixelFormats.BytesPerLumaPixel(format)})";
            return false;
        }
        if (stride > int.MaxValue)
        {
            error = $"raw {name} frame: stride {stride} bytes is out of range";
            return false;
        }
        if (format == RawPixelFormat.I420 && stride % 2 != 0)
        {
            error = $"raw {name} frame: stride {stride} must be even (the U and V rows are stride/2 bytes)";
            return false;
        }
        // stride < 2^31 and height <= 65500: every product below fits a long.
        var bytes = format switch
        {
            RawPixelFormat.I420 => stride * height + 2 * (stride / 2) * (height / 2),
            RawPixelFormat.Nv12 => stride * height + stride * (height / 2),
            _ => stride * height,
        };
        if (bytes > int.MaxValue)
        {
            error = $"raw {name} frame {width}×{height} (stride {stride}) needs {bytes} bytes, over {int.MaxValue}";
            return false;
        }
        layout = new RawFrameLayout(format, (int)width, (int)height, (int)stride, (int)bytes);
        error = null;
        return true;
    }

    /// <summary>The error for a payload of <paramref name="actual"/> bytes that does not match <see cref="ByteCount"/>.</summary>
    public string LengthMismatch(long actual) => LengthMismatch(actual.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The same error when the payload's length is not known, only that it is over <see cref="ByteCount"/> (a body read stopped there).</summary>
    public string LengthMismatchOver() => LengthMismatch("more");

    private string LengthMismatch(string actual) =>
        $"raw {RawPixelFormats.Name(Format)} frame {Width}×{Height}{(IsPadded ? $" (stride {Stride})" : "")} needs exactly {ByteCount} bytes of pixels, got {actual}";
}

/// <summary>One raw frame: its checked layout and its pixels (exactly <see cref="RawFrameLayout.ByteCount"/> bytes).</summary>
/// <param name="Layout">The frame's geometry.</param>
/// <param name="Pixels">The pixel bytes, owned by this frame.</param>
public sealed record RawFrame(RawFrameLayout Layout, byte[] Pixels);

/// <summary>Names and sizes of <see cref="RawPixelFormat"/>s.</summary>
public static class RawPixelFormats
{
    /// <summary>The lower-case names accepted by <see cref="TryParse"/>, in enum order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["i420", "nv12", "rgba", "bgra", "rgb24", "bgr24"];

    /// <summary>The lower-case name of <paramref name="format"/> (<c>i420</c>, …), or null for a value that is not a format.</summary>
    public static string? Name(RawPixelFormat format) =>
        format is >= RawPixelFormat.I420 and <= RawPixelFormat.Bgr24 ? Names[(int)format - 1] : null;

    /// <summary>Parses a format name, case-insensitive (<c>i420</c>, <c>NV12</c>, <c>rgba</c>, <c>bgra</c>, <c>rgb24</c>, <c>bgr24</c>).</summary>
    public static bool TryParse(string? name, out RawPixelFormat format)
    {
        format = default;
        if (name is null) return false;
        for (var i = 0; i < Names.Count; i++)
        {
            if (!string.Equals(Names[i], name, StringComparison.OrdinalIgnoreCase)) continue;
            format = (RawPixelFormat)(i + 1);
            return true;
        }
        return false;
    }

    /// <summary>Bytes per pixel of a packed format, or per pixel of the Y plane (1) for I420 and NV12.</summary>
    public static int BytesPerLumaPixel(RawPixelFormat format) => format switch
    {
        RawPixelFormat.Rgba or RawPixelFormat.Bgra => 4,
        RawPixelFormat.Rgb24 or RawPixelFormat.Bgr24 => 3,
        _ => 1,
    };
}

/// <summary>
/// The raw frame message of the device WebSocket, type <c>0x02</c>, beside the JPEG frame <c>0x01</c>
/// (<see cref="BinaryFrameCodec"/>): <c>0x02 | u8 len | source_id | u8 len | camera_id | u8 format | u32 BE width |
/// u32 BE height | u32 BE stride (0: packed rows) | i64 BE timestamp_ms | pixels</c>. The pixels must be exactly the
/// <see cref="RawFrameLayout.ByteCount"/> of the format, width, height and stride.
/// </summary>
public static class RawFrameCodec
{
    /// <summary>First byte of every raw frame message.</summary>
    public const byte FrameType = 0x02;

    /// <summary>Bytes of the fixed fields after the ids: format, width, height, stride, timestamp.</summary>
    private const int FixedFields = 1 + 4 + 4 + 4 + 8;

    /// <summary>Largest header in bytes (both ids 255 bytes long).</summary>
    public const int MaxHeaderLength = 1 + 1 + byte.MaxValue + 1 + byte.MaxValue + FixedFields;

    /// <summary>Length in bytes of the header (everything before the pixels).</summary>
    public static int HeaderLength(string sourceId, string cameraId) =>
        1 + 1 + Encoding.UTF8.GetByteCount(sourceId) + 1 + Encoding.UTF8.GetByteCount(cameraId) + FixedFields;

    /// <summary>Encodes a raw frame message into a new array.</summary>
    /// <param name="sourceId">source_id (ignored on ingest).</param>
    /// <param name="cameraId">camera_id; empty means <c>camera:0</c>.</param>
    /// <param name="layout">The frame's layout; <paramref name="pixels"/> should be <see cref="RawFrameLayout.ByteCount"/> bytes.</param>
    /// <param name="timestampMs">Capture time, Unix epoch ms.</param>
    /// <param name="pixels">The pixel bytes.</param>
    /// <param name="writeStride">Write the stride even when rows are packed (false writes 0 then).</param>
    /// <exception cref="ArgumentException">An id is longer than 255 UTF-8 bytes.</exception>
    public static byte[] Encode(string sourceId, string cameraId, in RawFrameLayout layout, long timestampMs, ReadOnlySpan<byte> pixels, bool writeStride = false)
    {
        var buffer = new byte[HeaderLength(sourceId, cameraId) + pixels.Length];
        var pos = 0;
        buffer[pos++] = FrameType;
        pos += BinaryFrameCodec.WriteShortString(sourceId, buffer.AsSpan(pos), nameof(sourceId));
        pos += BinaryFrameCodec.WriteShortString(cameraId, buffer.AsSpan(pos), nameof(cameraId));
        buffer[pos++] = (byte)layout.Format;
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(pos), (uint)layout.Width); pos += 4;
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(pos), (uint)layout.Height); pos += 4;
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(pos), writeStride || layout.IsPadded ? (uint)layout.Stride : 0u); pos += 4;
        BinaryPrimitives.WriteInt64BigEndian(buffer.AsSpan(pos), timestampMs); pos += 8;
        pixels.CopyTo(buffer.AsSpan(pos));
        return buffer;
    }

    /// <summary>
    /// Decodes a raw frame message and checks that the pixels are exactly as long as the layout needs. On success
    /// the pixels are <c>message[pixelOffset..]</c>.
    /// </summary>
    /// <returns>False with a reason in <paramref name="error"/> (truncated header, ids not UTF-8, unknown format,
    /// a bad layout, or a pixel length that does not match, naming the expected and actual bytes). Never throws.
    /// <paramref name="layout"/> is the decoded layout on success and when only the pixel length was wrong; default
    /// (<see cref="RawFrameLayout.ByteCount"/> 0) after any other failure.</returns>
    public static bool TryDecode(ReadOnlySpan<byte> message, out string cameraId, out RawFrameLayout layout, out long timestampMs, out int pixelOffset, out string? error)
    {
        cameraId = string.Empty;
        layout = default;
        timestampMs = 0;
        pixelOffset = 0;
        if (message.Length < 1 || message[0] != FrameType) { error = "raw frame message type must be 0x02"; return false; }
        var pos = 1;
        if (!BinaryFrameCodec.TryReadShortString(message, ref pos, out _, out error) || !BinaryFrameCodec.TryReadShortString(message, ref pos, out cameraId, out error))
        {
            error = error!.Replace("binary frame header", "raw frame header", StringComparison.Ordinal);
            return false;
        }
        if (message.Length < pos + FixedFields) { error = "raw frame header is truncated (format/width/height/stride/timestamp)"; return false; }
        var format = (RawPixelFormat)message[pos]; pos += 1;
        var width = BinaryPrimitives.ReadUInt32BigEndian(message[pos..]); pos += 4;
        var height = BinaryPrimitives.ReadUInt32BigEndian(message[pos..]); pos += 4;
        var stride = BinaryPrimitives.ReadUInt32BigEndian(message[pos..]); pos += 4;
        timestampMs = BinaryPrimitives.ReadInt64BigEndian(message[pos..]); pos += 8;
        if (RawPixelFormats.Name(format) is null)
        {
            error = $"raw frame: unknown pixel format {(int)format} (1 i420, 2 nv12, 3 rgba, 4 bgra, 5 rgb24, 6 bgr24)";
            return false;
        }
        if (!RawFrameLayout.TryCreate(format, width, height, stride, out layout, out error)) return false;
        var actual = message.Length - pos;
        if (actual != layout.ByteCount) { error = layout.LengthMismatch(actual); return false; }
        pixelOffset = pos;
        error = null;
        return true;
    }
}
