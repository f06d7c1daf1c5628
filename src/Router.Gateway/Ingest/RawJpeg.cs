using OpenCvSharp;
using Router.Protocol;

namespace Router.Gateway.Ingest;

/// <summary>
/// Converts raw pixels to BGR and encodes them as JPEG with OpenCV: a <see cref="Mat"/> over the frame's own bytes (no
/// copy; rows with padding use the stride as the Mat's step, planar 4:2:0 frames with padding are first repacked),
/// <see cref="Cv2.CvtColor(InputArray, OutputArray, ColorConversionCodes, int)"/>, then <see cref="Cv2.ImEncode(string, InputArray, out byte[], ImageEncodingParam[])"/>.
/// Blocking CPU work: call it off the actor dispatcher (<see cref="RawFrameEncoder"/> runs it on the thread pool).
/// </summary>
internal static class RawJpeg
{
    /// <summary>
    /// The OpenCV conversion to BGR of each format (docs/api.md lists them): I420 <c>COLOR_YUV2BGR_I420</c>, NV12
    /// <c>COLOR_YUV2BGR_NV12</c>, RGBA <c>COLOR_RGBA2BGR</c>, BGRA <c>COLOR_BGRA2BGR</c>, RGB24 <c>COLOR_RGB2BGR</c>;
    /// null for BGR24 (encoded as is).
    /// </summary>
    public static ColorConversionCodes? ToBgr(RawPixelFormat format) => format switch
    {
        RawPixelFormat.I420 => ColorConversionCodes.YUV2BGR_I420,
        RawPixelFormat.Nv12 => ColorConversionCodes.YUV2BGR_NV12,
        RawPixelFormat.Rgba => ColorConversionCodes.RGBA2BGR,
        RawPixelFormat.Bgra => ColorConversionCodes.BGRA2BGR,
        RawPixelFormat.Rgb24 => ColorConversionCodes.RGB2BGR,
        _ => null,
    };

    /// <summary>Encodes <paramref name="frame"/> as a baseline JPEG of <paramref name="quality"/> (1–100).</summary>
    /// <exception cref="ArgumentException">The pixels are not exactly the layout's byte count.</exception>
    /// <exception cref="OpenCVException">OpenCV failed (not expected for a checked layout).</exception>
    public static byte[] Encode(RawFrame frame, int quality)
    {
        var layout = frame.Layout;
        if (frame.Pixels.Length != layout.ByteCount) throw new ArgumentException(layout.LengthMismatch(frame.Pixels.Length), nameof(frame));
        using var source = Wrap(layout, frame.Pixels);
        var code = ToBgr(layout.Format);
        var parameters = new ImageEncodingParam(ImwriteFlags.JpegQuality, quality);
        byte[] jpeg;
        if (code is null)
        {
            Cv2.ImEncode(".jpg", source, out jpeg, parameters);
            return jpeg;
        }
        using var bgr = new Mat();
        Cv2.CvtColor(source, bgr, code.Value);
        Cv2.ImEncode(".jpg", bgr, out jpeg, parameters);
        return jpeg;
    }

    /// <summary>A Mat over the pixels: h × w with the stride as step for packed formats; (h × 3/2) × w for I420 and NV12.</summary>
    private static Mat Wrap(in RawFrameLayout layout, byte[] pixels)
    {
        switch (layout.Format)
        {
            case RawPixelFormat.I420 or RawPixelFormat.Nv12:
                var planar = layout.IsPadded ? Repack(layout, pixels) : pixels;
                return Mat.FromPixelData(layout.Height * 3 / 2, layout.Width, MatType.CV_8UC1, planar, layout.Width);
            default:
                var type = RawPixelFormats.BytesPerLumaPixel(layout.Format) == 4 ? MatType.CV_8UC4 : MatType.CV_8UC3;
                return Mat.FromPixelData(layout.Height, layout.Width, type, pixels, layout.Stride);
        }
    }

    /// <summary>
    /// Copies a padded I420 or NV12 frame into OpenCV's packed 4:2:0 layout: Y rows of width bytes, then (I420) U and V
    /// rows of width/2 bytes, or (NV12) UV rows of width bytes.
    /// </summary>
    private static byte[] Repack(in RawFrameLayout layout, byte[] pixels)
    {
        int w = layout.Width, h = layout.Height, stride = layout.Stride;
        var packed = new byte[w * h * 3 / 2];
        var src = pixels.AsSpan();
        var dst = packed.AsSpan();
        for (var y = 0; y < h; y++) src.Slice(y * stride, w).CopyTo(dst.Slice(y * w, w));
        var chroma = src[(stride * h)..];
        var chromaDst = dst[(w * h)..];
        if (layout.Format == RawPixelFormat.Nv12)
        {
            for (var y = 0; y < h / 2; y++) chroma.Slice(y * stride, w).CopyTo(chromaDst.Slice(y * w, w));
            return packed;
        }
        int cw = w / 2, cs = stride / 2, ch = h / 2;
        for (var plane = 0; plane < 2; plane++)
        {
            var from = chroma[(plane * cs * ch)..];
            var to = chromaDst[(plane * cw * ch)..];
            for (var y = 0; y < ch; y++) from.Slice(y * cs, cw).CopyTo(to.Slice(y * cw, cw));
        }
        return packed;
    }
}
