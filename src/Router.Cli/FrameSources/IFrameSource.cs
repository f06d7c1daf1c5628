namespace Router.Cli.FrameSources;

/// <summary>One frame read from an input: JPEG bytes and the picture size in pixels (0 when unknown).</summary>
internal readonly record struct SourceFrame(byte[] Jpeg, int Width, int Height)
{
    /// <summary>Raw pixels to send as a <c>0x02</c> message instead of a JPEG (<c>push --raw</c>); <see cref="Jpeg"/> is empty then.</summary>
    public Router.Protocol.RawFrame? Raw { get; init; }
}

/// <summary>
/// A blocking producer of JPEG frames (video file, JPEG folder, webcam). Reads happen on one dedicated thread
/// (see <see cref="Push.FramePump"/>), never on the send loop; implementations need not be thread-safe.
/// </summary>
internal interface IFrameSource : IDisposable
{
    /// <summary>What is being read, for log lines (path or device).</summary>
    string Description { get; }

    /// <summary>The input's own frame rate when it has one (video file, camera), else null.</summary>
    double? NativeFps { get; }

    /// <summary>Reads the next frame, blocking as long as the input needs.</summary>
    /// <returns>False at the end of the input (only when not looping).</returns>
    bool TryRead(out SourceFrame frame);
}
