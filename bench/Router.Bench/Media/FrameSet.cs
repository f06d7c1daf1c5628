using OpenCvSharp;

namespace Router.Bench.Media;

/// <summary>Real JPEG frames decoded from a video file with OpenCV and encoded once, before any measurement.</summary>
internal sealed class FrameSet
{
    private FrameSet(string source, int width, int height, int quality, IReadOnlyList<byte[]> frames)
    {
        Source = source;
        Width = width;
        Height = height;
        Quality = quality;
        Frames = frames;
        MeanBytes = frames.Average(f => (double)f.Length);
    }

    public string Source { get; }

    public int Width { get; }

    public int Height { get; }

    public int Quality { get; }

    public IReadOnlyList<byte[]> Frames { get; }

    public double MeanBytes { get; }

    public byte[] this[long index] => Frames[(int)(index % Frames.Count)];

    /// <summary>Decodes up to <paramref name="count"/> frames of <paramref name="path"/> and JPEG-encodes them at <paramref name="quality"/>.</summary>
    /// <exception cref="IOException">The file cannot be opened or has no frames.</exception>
    public static FrameSet Load(string path, int count, int quality)
    {
        using var capture = new VideoCapture(path);
        if (!capture.IsOpened()) throw new IOException($"OpenCV cannot open {path}");
        using var image = new Mat();
        var frames = new List<byte[]>(count);
        int width = 0, height = 0;
        var encodeParams = new ImageEncodingParam(ImwriteFlags.JpegQuality, quality);
        while (frames.Count < count && capture.Read(image) && !image.Empty())
        {
            Cv2.ImEncode(".jpg", image, out var jpeg, encodeParams);
            frames.Add(jpeg);
            width = image.Width;
            height = image.Height;
        }
        if (frames.Count == 0) throw new IOException($"no frames decoded from {path}");
        return new FrameSet(path, width, height, quality, frames);
    }
}
