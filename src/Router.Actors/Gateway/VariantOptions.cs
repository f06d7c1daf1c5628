using Router.Actors.Media;

namespace Router.Actors.Gateway;

/// <summary>
/// Settings of the consumers' picture variants on a gateway (configuration section <c>Router:Camera:Variants</c>; see
/// <see cref="VariantSpec"/> and <see cref="CameraVariantActor"/>).
/// </summary>
public sealed class VariantOptions
{
    /// <summary>
    /// Distinct variants one camera may have at once on one gateway (each costs one encode per frame). A consumer asking
    /// for another one while the camera has this many gets the nearest existing variant instead (counted as
    /// <c>router.variant.substituted</c>). Default 4.
    /// </summary>
    public int MaxPerCamera { get; set; } = 4;

    /// <summary>Variant encodes that run at once on one gateway; 0 (default) means max(1, processor count / 2).</summary>
    public int EncodeConcurrency { get; set; }

    /// <summary>JPEG quality (1–100) of a variant whose consumer gave <c>width</c> or <c>height</c> but no <c>quality</c>. Default 75.</summary>
    public int DefaultQuality { get; set; } = 75;

    /// <summary>Every problem of <paramref name="options"/>, each naming its key under <paramref name="at"/>; empty when valid.</summary>
    public static IReadOnlyList<string> Problems(VariantOptions options, string at)
    {
        var errors = new List<string>();
        if (options.MaxPerCamera < 1) errors.Add($"{at}:MaxPerCamera ({options.MaxPerCamera}) must be at least 1");
        if (options.EncodeConcurrency < 0) errors.Add($"{at}:EncodeConcurrency ({options.EncodeConcurrency}) must not be negative (0: half the processors)");
        if (options.DefaultQuality is < 1 or > 100) errors.Add($"{at}:DefaultQuality ({options.DefaultQuality}) must be 1–100");
        return errors;
    }
}
