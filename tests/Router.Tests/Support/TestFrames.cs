using OpenCvSharp;
using Router.Tests.Media;

namespace Router.Tests.Support;

/// <summary>Real JPEG frames for tests: decoded from vtest.avi (768x576 street scene) and encoded at quality 85.</summary>
internal static class TestFrames
{
    private static readonly Lazy<IReadOnlyList<byte[]>> Frames = new(() => Load(60));

    /// <summary>60 consecutive frames of vtest.avi as JPEG (about 80 KB each).</summary>
    public static IReadOnlyList<byte[]> Vtest => Frames.Value;

    public const int Width = 768;
    public const int Height = 576;

    private static IReadOnlyList<byte[]> Load(int count)
    {
        using var capture = new VideoCapture(TestMedia.SharedMediaPath("vtest.avi"));
        if (!capture.IsOpened()) throw new InvalidOperationException("cannot open vtest.avi");
        var frames = new List<byte[]>(count);
        using var mat = new Mat();
        while (frames.Count < count && capture.Read(mat) && !mat.Empty())
            frames.Add(mat.ImEncode(".jpg", new ImageEncodingParam(ImwriteFlags.JpegQuality, 85)));
        return frames;
    }
}

/// <summary>Large real-content JPEGs for the size policy.</summary>
internal static class LargeJpegs
{
    /// <summary>
    /// A real-content JPEG between <paramref name="minBytes"/> and <paramref name="maxBytes"/>: baboon.jpg (very
    /// detailed) scaled up and encoded at high quality, with the scale searched until the size falls in range.
    /// </summary>
    public static byte[] Between(int minBytes, int maxBytes)
    {
        using var baboon = Cv2.ImRead(TestMedia.SharedMediaPath("baboon.jpg"));
        double low = 0.5, high = 4.0;
        for (var i = 0; i < 40; i++)
        {
            var scale = (low + high) / 2;
            using var scaled = new Mat();
            Cv2.Resize(baboon, scaled, new Size(), scale, scale, InterpolationFlags.Cubic);
            var jpeg = scaled.ImEncode(".jpg", new ImageEncodingParam(ImwriteFlags.JpegQuality, 95));
            if (jpeg.Length < minBytes) low = scale;
            else if (jpeg.Length > maxBytes) high = scale;
            else return jpeg;
        }
        throw new InvalidOperationException($"could not make a JPEG between {minBytes} and {maxBytes} bytes");
    }
}
