using OpenCvSharp;

namespace Router.Cli.FrameSources;

/// <summary>Frames of a video file decoded with OpenCV (FFmpeg) and JPEG-encoded; rewinds at the end when looping.</summary>
internal sealed class VideoFileFrameSource : IFrameSource
{
    private readonly string path;
    private readonly bool loop;
    private readonly int quality;
    private readonly Router.Protocol.RawPixelFormat? raw;
    private readonly Mat image = new();
    private VideoCapture capture;

    /// <summary>Opens <paramref name="path"/>.</summary>
    /// <param name="path">The video file.</param>
    /// <param name="loop">Rewind at the end.</param>
    /// <param name="quality">JPEG quality (1–100).</param>
    /// <param name="raw">Send raw pixels of this format instead of JPEG (<c>push --raw</c>).</param>
    /// <exception cref="IOException">The file cannot be opened or decoded.</exception>
    public VideoFileFrameSource(string path, bool loop, int quality, Router.Protocol.RawPixelFormat? raw = null)
    {
        this.raw = raw;
        this.path = path;
        this.loop = loop;
        this.quality = quality;
        if (!File.Exists(path)) throw new FileNotFoundException($"video file not found: {path}", path);
        capture = Open(path);
        var fps = capture.Fps;
        NativeFps = double.IsFinite(fps) && fps is > 0 and < 1000 ? fps : null;
        Width = capture.FrameWidth;
        Height = capture.FrameHeight;
    }

    /// <inheritdoc />
    public string Description => path;

    /// <inheritdoc />
    public double? NativeFps { get; }

    /// <summary>Frame width the container reports.</summary>
    public int Width { get; }

    /// <summary>Frame height the container reports.</summary>
    public int Height { get; }

    /// <inheritdoc />
    public bool TryRead(out SourceFrame frame)
    {
        if (!capture.Read(image) || image.Empty())
        {
            if (!loop) { frame = default; return false; }
            // Rewind; some demuxers cannot seek, so reopen when seeking does not help.
            if (!capture.Set(VideoCaptureProperties.PosFrames, 0) || !capture.Read(image) || image.Empty())
            {
                capture.Dispose();
                capture = Open(path);
                if (!capture.Read(image) || image.Empty()) throw new IOException($"cannot read frames from {path}");
            }
        }
        frame = RawPixels.ToSourceFrame(image, quality, raw);
        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        capture.Dispose();
        image.Dispose();
    }

    private static VideoCapture Open(string path)
    {
        var capture = new VideoCapture(path);
        if (!capture.IsOpened())
        {
            capture.Dispose();
            throw new IOException($"OpenCV cannot open video file {path}");
        }
        return capture;
    }
}
