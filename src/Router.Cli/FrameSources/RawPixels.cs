using System.Runtime.InteropServices;
using OpenCvSharp;
using Router.Protocol;

namespace Router.Cli.FrameSources;

/// <summary>
/// Converts an OpenCV BGR image to the raw pixel formats of <see cref="RawFrameCodec"/>: I420 with
/// <c>COLOR_BGR2YUV_I420</c>, NV12 from it (U and V interleaved), RGBA <c>COLOR_BGR2RGBA</c>, BGRA <c>COLOR_BGR2BGRA</c>,
/// RGB24 <c>COLOR_BGR2RGB</c>, BGR24 as is. Used by <c>router push --raw</c>.
/// </summary>
internal static class RawPixels
{
    /// <summary>
    /// The pixels of <paramref name="bgr"/> (8-bit, 3 channels) in <paramref name="format"/>, rows
    /// <paramref name="stride"/> bytes apart (0: packed rows; padding bytes are 0).
    /// </summary>
    /// <returns>The layout (checked by <see cref="RawFrameLayout.TryCreate"/>) and exactly its <see cref="RawFrameLayout.ByteCount"/> bytes.</returns>
    /// <exception cref="ArgumentException">The image is not 8-bit BGR, or the size or stride does not fit the format (odd size for 4:2:0).</exception>
    public static (RawFrameLayout Layout, byte[] Pixels) FromBgr(Mat bgr, RawPixelFormat format, int stride = 0)
    {
        if (bgr.Type() != MatType.CV_8UC3) throw new ArgumentException($"expected an 8-bit BGR image, got {bgr.Type()}", nameof(bgr));
        if (!RawFrameLayout.TryCreate(format, bgr.Width, bgr.Height, stride, out var layout, out var error)) throw new ArgumentException(error, nameof(stride));
        var packed = Packed(bgr, format);
        if (!layout.IsPadded) return (layout, packed);
        var padded = new byte[layout.ByteCount];
        int w = layout.Width, h = layout.Height, row = layout.RowBytes, s = layout.Stride;
        switch (format)
        {
            case RawPixelFormat.I420:
                CopyRows(packed, 0, row, padded, 0, s, h);
                CopyRows(packed, w * h, w / 2, padded, s * h, s / 2, h / 2);
                CopyRows(packed, w * h + w / 2 * (h / 2), w / 2, padded, s * h + s / 2 * (h / 2), s / 2, h / 2);
                break;
            case RawPixelFormat.Nv12:
                CopyRows(packed, 0, row, padded, 0, s, h);
                CopyRows(packed, w * h, w, padded, s * h, s, h / 2);
                break;
            default:
                CopyRows(packed, 0, row, padded, 0, s, h);
                break;
        }
        return (layout, padded);
    }

    /// <summary>
    /// The frame to send for a decoded image: JPEG of <paramref name="quality"/>, or with <paramref name="raw"/> the raw
    /// pixels in that format (4:2:0 formats drop an odd last column or row).
    /// </summary>
    public static SourceFrame ToSourceFrame(Mat image, int quality, RawPixelFormat? raw)
    {
        if (raw is not { } format) return new SourceFrame(JpegEncoder.Encode(image, quality), image.Width, image.Height);
        int width = image.Width, height = image.Height;
        if (format is RawPixelFormat.I420 or RawPixelFormat.Nv12 && (width % 2 != 0 || height % 2 != 0))
        {
            using var even = new Mat(image, new Rect(0, 0, width & ~1, height & ~1));
            return ToSourceFrame(even, quality, raw);
        }
        var (layout, pixels) = FromBgr(image, format);
        return new SourceFrame([], width, height) { Raw = new RawFrame(layout, pixels) };
    }

    private static void CopyRows(byte[] from, int fromOffset, int rowBytes, byte[] to, int toOffset, int toStride, int rows)
    {
        for (var y = 0; y < rows; y++) Array.Copy(from, fromOffset + y * rowBytes, to, toOffset + y * toStride, rowBytes);
    }

    /// <summary>Packed (unpadded) pixels of the format.</summary>
    private static byte[] Packed(Mat bgr, RawPixelFormat format)
    {
        if (format == RawPixelFormat.Bgr24) return Bytes(bgr);
        using var converted = new Mat();
        Cv2.CvtColor(bgr, converted, format switch
        {
            RawPixelFormat.I420 or RawPixelFormat.Nv12 => ColorConversionCodes.BGR2YUV_I420,
            RawPixelFormat.Rgba => ColorConversionCodes.BGR2RGBA,
            RawPixelFormat.Bgra => ColorConversionCodes.BGR2BGRA,
            _ => ColorConversionCodes.BGR2RGB,
        });
        var bytes = Bytes(converted);
        if (format != RawPixelFormat.Nv12) return bytes;
        // I420 (Y, U plane, V plane) to NV12 (Y, then U,V pairs).
        int w = bgr.Width, h = bgr.Height, luma = w * h, quarter = luma / 4;
        var nv12 = new byte[bytes.Length];
        Array.Copy(bytes, nv12, luma);
        for (var i = 0; i < quarter; i++)
        {
            nv12[luma + 2 * i] = bytes[luma + i];
            nv12[luma + 2 * i + 1] = bytes[luma + quarter + i];
        }
        return nv12;
    }

    /// <summary>The bytes of a Mat, row by row (a non-continuous Mat is copied row by row).</summary>
    private static byte[] Bytes(Mat mat)
    {
        var rows = mat.Rows;
        var rowBytes = mat.Cols * (int)mat.ElemSize();
        var bytes = new byte[rowBytes * rows];
        if (mat.IsContinuous())
        {
            Marshal.Copy(mat.Data, bytes, 0, bytes.Length);
            return bytes;
        }
        for (var y = 0; y < rows; y++) Marshal.Copy(mat.Ptr(y), bytes, y * rowBytes, rowBytes);
        return bytes;
    }
}
