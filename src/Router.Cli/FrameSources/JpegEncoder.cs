using OpenCvSharp;

namespace Router.Cli.FrameSources;

/// <summary>JPEG-encodes OpenCV frames.</summary>
internal static class JpegEncoder
{
    /// <summary>Encodes <paramref name="image"/> (BGR or grey) as a baseline JPEG of the given quality (1–100).</summary>
    public static byte[] Encode(Mat image, int quality)
    {
        Cv2.ImEncode(".jpg", image, out var jpeg, new ImageEncodingParam(ImwriteFlags.JpegQuality, quality));
        return jpeg;
    }
}
