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

    /// <summary>
    /// Largest width × height, in pixels, a frame's SOF header may claim; a frame over it is rejected as
    /// <see cref="Messages.FrameRejectReason.TooManyPixels"/> before any decode, whether it would pass through or be
    /// re-encoded (consumers and browsers decode pass-through frames too). Default 33,177,600 (7680 × 4320, 8K UHD).
    /// </summary>
    /// <remarks>
    /// A decode holds width × height × 3 bytes of BGR (about 100 MB at the default) plus the re-encoding buffers and
    /// the first downscaled copy (0.64 of it): about 200 MB at most per running re-encode. With the default
    /// <see cref="ReencodeConcurrency"/> (1 on the 2-core node pods of deploy/k8s) that is a tenth of the pods' 2 GiB
    /// memory limit. A JPEG header can claim up to 65535 × 65535 (4.3 G pixels, 12.9 GB decoded), which is what a
    /// decompression bomb does.
    /// </remarks>
    public long MaxPixels { get; set; } = 7680L * 4320;

    /// <summary>
    /// Re-encodes that run at once on one node (per actor system); 0 (default) means max(1, processor count / 2),
    /// which leaves half the cores for routing frames.
    /// </summary>
    public int ReencodeConcurrency { get; set; }

    /// <summary>
    /// Frames that may wait for a re-encoding slot on one node; a frame that finds the slots busy and the queue full is
    /// rejected as <see cref="Messages.FrameRejectReason.Busy"/> at once. Default 4 (a waiting frame holds its JPEG,
    /// at most <see cref="HardLimitBytes"/>; a long queue would mostly outlast the senders' 5 s ingest timeout anyway).
    /// </summary>
    public int ReencodeQueueLimit { get; set; } = 4;

    /// <summary>
    /// Every problem of <paramref name="options"/>, each naming its key under <paramref name="at"/>: limits not positive,
    /// the pass-through size above the hard limit, a quality outside 1–100 or the minimum above the initial one, a
    /// pixel limit not positive, a negative concurrency or queue limit. Empty when valid. The one rule used by the
    /// start-up validation and by <see cref="SizePolicy"/>'s constructor.
    /// </summary>
    public static IReadOnlyList<string> Problems(SizePolicyOptions options, string at = "SizePolicy")
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.PassThroughMaxBytes <= 0 || options.HardLimitBytes < options.PassThroughMaxBytes)
            errors.Add($"{at}: size limits must satisfy 0 < PassThroughMaxBytes ({options.PassThroughMaxBytes}) <= HardLimitBytes ({options.HardLimitBytes})");
        if (options.MinReencodeQuality is < 1 or > 100 || options.InitialReencodeQuality is < 1 or > 100 ||
            options.MinReencodeQuality > options.InitialReencodeQuality)
            errors.Add($"{at}: re-encode qualities must satisfy 1 <= MinReencodeQuality ({options.MinReencodeQuality}) <= InitialReencodeQuality ({options.InitialReencodeQuality}) <= 100");
        if (options.MaxPixels <= 0)
            errors.Add($"{at}:MaxPixels ({options.MaxPixels}) must be positive");
        if (options.ReencodeConcurrency < 0)
            errors.Add($"{at}:ReencodeConcurrency ({options.ReencodeConcurrency}) must not be negative");
        if (options.ReencodeQueueLimit < 0)
            errors.Add($"{at}:ReencodeQueueLimit ({options.ReencodeQueueLimit}) must not be negative");
        return errors;
    }
}
