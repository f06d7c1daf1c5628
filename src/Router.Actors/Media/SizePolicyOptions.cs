namespace Router.Actors.Media;

/// <summary>Limits of the JPEG size policy applied to every ingested frame (configuration section <c>Router:Camera:SizePolicy</c>).</summary>
public sealed class SizePolicyOptions
{
    /// <summary>Frames of at most this many bytes pass through unchanged. Default 750,000 bytes.</summary>
    public int PassThroughMaxBytes { get; set; } = 750_000;

    /// <summary>Frames of more than this many bytes are rejected without decoding. Default 1,048,576 bytes (1 MiB).</summary>
    public int HardLimitBytes { get; set; } = 1_048_576;

    /// <summary>JPEG quality (1–100) of the first re-encoding attempt for frames between the two limits. Default 85.</summary>
    public int InitialReencodeQuality { get; set; } = 85;

    /// <summary>Lowest JPEG quality (1–100) tried before the frame is downscaled instead. Default 40.</summary>
    public int MinReencodeQuality { get; set; } = 40;
}
