using OpenCvSharp;
using Router.Actors.Messages;

namespace Router.Actors.Media;

/// <summary>
/// A smaller or lower-quality picture of a camera a consumer asked for: the frame is scaled (aspect ratio kept, never
/// up) to fit <see cref="MaxWidth"/> × <see cref="MaxHeight"/> and encoded at <see cref="Quality"/>. Two consumers with
/// equal specs share one variant per gateway (record equality).
/// </summary>
/// <param name="MaxWidth">Largest width in pixels, <see cref="MinSide"/>–<see cref="MaxSide"/>; 0 for no bound on the width.</param>
/// <param name="MaxHeight">Largest height in pixels, <see cref="MinSide"/>–<see cref="MaxSide"/>; 0 for no bound on the height.</param>
/// <param name="Quality">JPEG quality 1–100; 0 means the gateway's default (<see cref="Gateway.VariantOptions.DefaultQuality"/>).</param>
public sealed record VariantSpec(int MaxWidth, int MaxHeight, int Quality)
{
    /// <summary>Smallest <c>width</c> or <c>height</c> a client may ask for, in pixels.</summary>
    public const int MinSide = 16;

    /// <summary>Largest <c>width</c> or <c>height</c> a client may ask for, in pixels (8K UHD width); larger than the frame means "no smaller".</summary>
    public const int MaxSide = 7680;

    /// <summary>
    /// The size of this variant of a <paramref name="width"/> × <paramref name="height"/> frame: scaled down by one
    /// factor until it fits both bounds (each side at least 1 pixel), or the frame's own size when it fits already.
    /// </summary>
    /// <param name="width">Frame width in pixels (positive).</param>
    /// <param name="height">Frame height in pixels (positive).</param>
    public (int Width, int Height) TargetSize(int width, int height)
    {
        double scale = 1;
        if (MaxWidth > 0 && width > 0) scale = Math.Min(scale, (double)MaxWidth / width);
        if (MaxHeight > 0 && height > 0) scale = Math.Min(scale, (double)MaxHeight / height);
        if (scale >= 1) return (width, height);
        return (Math.Clamp((int)Math.Round(width * scale), 1, width), Math.Clamp((int)Math.Round(height * scale), 1, height));
    }

    /// <summary>
    /// True when this variant of a <paramref name="width"/> × <paramref name="height"/> frame is the frame itself: it
    /// fits the bounds already and no quality was asked for. Such frames are passed on unchanged, without an encode.
    /// </summary>
    public bool PassesThrough(int width, int height) => Quality == 0 && TargetSize(width, height) == (width, height);

    /// <summary>This spec with a quality: <paramref name="defaultQuality"/> when none was asked for.</summary>
    public VariantSpec WithDefaultQuality(int defaultQuality) => Quality > 0 ? this : this with { Quality = defaultQuality };

    /// <inheritdoc />
    public override string ToString() => $"{(MaxWidth > 0 ? MaxWidth : "*")}x{(MaxHeight > 0 ? MaxHeight : "*")}@q{Quality}";
}

/// <summary>
/// Encodes variants of frames with OpenCV: the JPEG is decoded at 1/2, 1/4 or 1/8 size when that is still at least the
/// target (libjpeg's scaled decode, <c>IMREAD_REDUCED_COLOR_*</c>, much cheaper than a full decode), resized with
/// <see cref="InterpolationFlags.Area"/> to the target and encoded at the spec's quality. Blocking CPU work: call it off
/// the actor dispatcher (<see cref="VariantEncodeGate"/>). Thread-safe.
/// </summary>
public static class FrameVariants
{
    /// <summary>Encodes the variant <paramref name="spec"/> of <paramref name="frame"/>.</summary>
    /// <param name="frame">A frame accepted by its camera entity (header already validated).</param>
    /// <param name="spec">The variant, with a quality (1–100).</param>
    /// <returns>A new frame with the same key, timestamp and sequence, the variant's JPEG and size, <c>Reencoded = true</c>.</returns>
    /// <exception cref="InvalidDataException">OpenCV cannot decode the JPEG.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The spec's quality is not 1–100.</exception>
    public static VideoFrame Encode(VideoFrame frame, VariantSpec spec)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(spec.Quality, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(spec.Quality, 100);
        var (width, height) = spec.TargetSize(frame.Width, frame.Height);
        Mat decoded;
        try
        {
            decoded = Cv2.ImDecode(frame.Jpeg, ReducedMode(frame.Width, frame.Height, width, height));
        }
        catch (OpenCVException e)
        {
            throw new InvalidDataException($"JPEG could not be decoded: {e.Message}", e);
        }
        using (decoded)
        {
            if (decoded.Empty()) throw new InvalidDataException("JPEG could not be decoded");
            using var resized = new Mat();
            var image = decoded;
            if (decoded.Width != width || decoded.Height != height)
            {
                Cv2.Resize(decoded, resized, new Size(width, height), 0, 0, InterpolationFlags.Area);
                image = resized;
            }
            Cv2.ImEncode(".jpg", image, out var jpeg, new ImageEncodingParam(ImwriteFlags.JpegQuality, spec.Quality));
            return new VideoFrame(frame.Key, jpeg, width, height, frame.TimestampMs, frame.Sequence, reencoded: true);
        }
    }

    /// <summary>
    /// The cheapest decode mode that still gives at least <paramref name="targetWidth"/> × <paramref name="targetHeight"/>
    /// pixels from a <paramref name="width"/> × <paramref name="height"/> JPEG: reduced by 8, 4, 2, or full size.
    /// </summary>
    internal static ImreadModes ReducedMode(int width, int height, int targetWidth, int targetHeight)
    {
        foreach (var (factor, mode) in new[] { (8, ImreadModes.ReducedColor8), (4, ImreadModes.ReducedColor4), (2, ImreadModes.ReducedColor2) })
            if (width / factor >= targetWidth && height / factor >= targetHeight) return mode;
        return ImreadModes.Color;
    }
}
