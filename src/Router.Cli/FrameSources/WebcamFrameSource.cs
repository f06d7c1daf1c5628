using OpenCvSharp;

namespace Router.Cli.FrameSources;

/// <summary>Frames of a local camera (V4L2 index) captured with OpenCV and JPEG-encoded.</summary>
internal sealed class WebcamFrameSource : IFrameSource
{
    private readonly VideoCapture capture;
    private readonly int quality;
    private readonly Router.Protocol.RawPixelFormat? raw;
    private readonly Mat image = new();

    /// <summary>Opens camera <paramref name="index"/>.</summary>
    /// <param name="index">Camera index.</param>
    /// <param name="quality">JPEG quality (1–100).</param>
    /// <param name="raw">Send raw pixels of this format instead of JPEG (<c>push --raw</c>).</param>
    /// <exception cref="IOException">The camera cannot be opened.</exception>
    public WebcamFrameSource(int index, int quality, Router.Protocol.RawPixelFormat? raw = null)
    {
        this.raw = raw;
        this.quality = quality;
        Description = $"webcam {index}";
        capture = new VideoCapture(index);
        if (!capture.IsOpened())
        {
            capture.Dispose();
            throw new IOException($"OpenCV cannot open webcam {index}");
        }
        var fps = capture.Fps;
        NativeFps = double.IsFinite(fps) && fps is > 0 and < 1000 ? fps : null;
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public double? NativeFps { get; }

    /// <inheritdoc />
    public bool TryRead(out SourceFrame frame)
    {
        if (!capture.Read(image) || image.Empty())
        {
            frame = default;
            return false; // unplugged or failing: end of input
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
}
