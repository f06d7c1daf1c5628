using Router.Protocol;

namespace Router.Gateway.Ingest;

/// <summary>
/// Raw frame ingest (configuration section <c>Router:Gateway:RawIngest</c>): device WebSocket messages of type
/// <c>0x02</c> and HTTP bodies of <c>application/octet-stream</c>, encoded to JPEG by the gateway that received them
/// (<see cref="RawFrameEncoder"/>). The pixel limit <c>Router:Camera:SizePolicy:MaxPixels</c> applies too, before any work.
/// </summary>
public sealed class RawIngestOptions
{
    /// <summary>Pixel bytes of a 1920 × 1080 RGBA frame: 8,294,400.</summary>
    public const int FullHdRgbaBytes = 1920 * 1080 * 4;

    /// <summary>
    /// Largest raw frame message on the device WebSocket, header included, and largest raw HTTP body, in bytes; a
    /// larger WebSocket message closes the socket with 1009, a larger body gets 413. Default 8,295,424 (a 1920 × 1080
    /// RGBA frame, 8,294,400 bytes, plus 1 KiB for the header). JPEG frames keep
    /// <see cref="GatewayOptions.MaxDeviceMessageBytes"/>.
    /// </summary>
    public int MaxMessageBytes { get; set; } = FullHdRgbaBytes + 1024;

    /// <summary>JPEG quality (1–100) of encoded raw frames. Default 85.</summary>
    public int JpegQuality { get; set; } = 85;

    /// <summary>Raw frames encoded at once by one gateway; 0 (default) means max(1, processor count / 2).</summary>
    public int EncodeConcurrency { get; set; }

    /// <summary>
    /// Cameras whose newest raw frame may wait for an encoding slot on one gateway (each camera holds at most one
    /// waiting frame, newer frames replace it); a camera beyond that gets <c>Busy</c> (HTTP 503) at once. Default 64.
    /// </summary>
    public int EncodeQueueLimit { get; set; } = 64;

    /// <summary>
    /// Cameras of one tenant that may be encoding or waiting for a slot of the gateway at once; further cameras of the
    /// tenant wait behind them (at most <see cref="EncodeQueueLimit"/>), so one tenant's flood never takes all the
    /// slots and the queue from the others. Default 4.
    /// </summary>
    public int MaxEncodesPerTenant { get; set; } = 4;

    /// <summary>Every problem, each naming its key under <paramref name="at"/>; empty when valid.</summary>
    public static IReadOnlyList<string> Problems(RawIngestOptions options, string at = "Router:Gateway:RawIngest")
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.MaxMessageBytes < 1024)
            errors.Add($"{at}:MaxMessageBytes ({options.MaxMessageBytes}) must be at least 1024 bytes");
        if (options.JpegQuality is < 1 or > 100)
            errors.Add($"{at}:JpegQuality ({options.JpegQuality}) must be between 1 and 100");
        if (options.EncodeConcurrency < 0)
            errors.Add($"{at}:EncodeConcurrency ({options.EncodeConcurrency}) must not be negative");
        if (options.EncodeQueueLimit < 0)
            errors.Add($"{at}:EncodeQueueLimit ({options.EncodeQueueLimit}) must not be negative");
        if (options.MaxEncodesPerTenant < 1)
            errors.Add($"{at}:MaxEncodesPerTenant ({options.MaxEncodesPerTenant}) must be at least 1");
        return errors;
    }

    /// <summary>Largest raw pixel payload in bytes a message of <see cref="MaxMessageBytes"/> can carry (header excluded).</summary>
    internal int MaxPixelBytes => Math.Max(0, MaxMessageBytes - RawFrameCodec.MaxHeaderLength);
}
