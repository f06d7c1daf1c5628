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
        for (var i = 0; i < frames.Count; i++)
            if (!_index.TryAdd(TailKey(frames[i]), i)) _index[TailKey(frames[i])] = -1; // ambiguous: never matched
    }

    private readonly Dictionary<long, int> _index = new();

    public string Source { get; }

    public int Width { get; }

    public int Height { get; }

    public int Quality { get; }

    public IReadOnlyList<byte[]> Frames { get; }

    public double MeanBytes { get; }

    public byte[] this[long index] => Frames[(int)(index % Frames.Count)];

    /// <summary>
    /// Which frame of the set <paramref name="jpeg"/> is (its index), or -1: a bare JPEG carries no timestamp, so
    /// consumers of <c>format=jpeg</c> (Router, the floor, go2rtc) recognise the frame by a key of its last 256 bytes
    /// (entropy-coded data, distinct for every frame of the clips used here; ambiguous keys are never matched).
    /// </summary>
    public int IndexOf(ReadOnlySpan<byte> jpeg) => _index.TryGetValue(TailKey(jpeg), out var i) ? i : -1;

    private static long TailKey(ReadOnlySpan<byte> jpeg)
    {
        var tail = jpeg[Math.Max(0, jpeg.Length - 256)..];
        var h = new HashCode();
        h.AddBytes(tail);
        return ((long)h.ToHashCode() << 32) ^ (uint)jpeg.Length;
    }

    /// <summary>
    /// The JPEG files of <paramref name="directory"/> (sorted by name) as they are, byte for byte: the peer scenario
    /// sends exactly the frames go2rtc's README extracts from its clip.
    /// </summary>
    /// <exception cref="IOException">No JPEG in the directory, or the first cannot be decoded.</exception>
    public static FrameSet LoadFiles(string directory)
    {
        var files = System.IO.Directory.GetFiles(directory, "*.jpg").Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new IOException($"no .jpg in {directory}");
        var frames = files.Select(File.ReadAllBytes).ToList();
        using var first = Cv2.ImDecode(frames[0], ImreadModes.Unchanged);
        if (first.Empty()) throw new IOException($"{files[0]} is not a JPEG OpenCV decodes");
        return new FrameSet(directory, first.Width, first.Height, -1, frames);
    }

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
