using OpenCvSharp;
using Router.Actors.Messages;
using Router.Protocol;

namespace Router.Actors.Media;

/// <summary>The outcome of <see cref="SizePolicy.Apply"/>.</summary>
/// <param name="Jpeg">The frame to keep: the input array itself when it passed through, otherwise a new JPEG.</param>
/// <param name="Width">Width of <paramref name="Jpeg"/> in pixels.</param>
/// <param name="Height">Height of <paramref name="Jpeg"/> in pixels.</param>
/// <param name="Reencoded">True when the frame was decoded and re-encoded (at lower quality and possibly smaller).</param>
public sealed record SizePolicyResult(byte[] Jpeg, int Width, int Height, bool Reencoded);

/// <summary>
/// Keeps ingested frames under the pass-through size: small frames pass unchanged, frames up to the hard limit are
/// re-encoded with OpenCV (first at decreasing JPEG quality, then downscaled by a factor of 0.8 per step with
/// <see cref="InterpolationFlags.Area"/>), larger ones are rejected.
/// </summary>
/// <remarks>
/// Re-encoding is CPU work (tens of milliseconds for a large frame): call <see cref="Apply"/> off the actor thread.
/// An instance is immutable and thread-safe; it copies the options when constructed.
/// </remarks>
public sealed class SizePolicy
{
    private const int QualityStep = 10;
    private const double DownscaleFactor = 0.8;

    private readonly int _passThroughMaxBytes;
    private readonly int _hardLimitBytes;
    private readonly int _initialQuality;
    private readonly int _minQuality;
    private readonly long _maxPixels;

    /// <summary>Creates a policy from a snapshot of <paramref name="options"/>.</summary>
    /// <param name="options">The limits; later changes to the object do not affect this policy.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// A limit is not positive, the pass-through size is above the hard limit, a quality is outside 1–100, or the
    /// minimum quality is above the initial one, <see cref="SizePolicyOptions.MaxPixels"/> is not positive, or
    /// <see cref="SizePolicyOptions.ReencodeConcurrency"/> or <see cref="SizePolicyOptions.ReencodeQueueLimit"/> is negative.
    /// </exception>
    public SizePolicy(SizePolicyOptions options)
    {
        var problems = SizePolicyOptions.Problems(options);
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems), nameof(options));
        _maxPixels = options.MaxPixels;
        _passThroughMaxBytes = options.PassThroughMaxBytes;
        _hardLimitBytes = options.HardLimitBytes;
        _initialQuality = options.InitialReencodeQuality;
        _minQuality = options.MinReencodeQuality;
    }

    /// <summary>True when the frame must be decoded and re-encoded (it is over the pass-through size).</summary>
    /// <param name="jpegBytes">The frame's size in bytes.</param>
    public bool NeedsReencode(int jpegBytes) => jpegBytes > _passThroughMaxBytes;

    /// <summary>Checks the pixel count a JPEG header claims against <see cref="SizePolicyOptions.MaxPixels"/>, without decoding.</summary>
    /// <param name="info">The size <see cref="JpegHeader.TryParse"/> read.</param>
    /// <returns>Null when within the limit; otherwise the reason, for logs and replies.</returns>
    public string? CheckPixels(JpegInfo info)
    {
        var pixels = (long)info.Width * info.Height;
        return pixels <= _maxPixels
            ? null
            : $"frame of {info.Width}x{info.Height} = {pixels} pixels is over the limit of {_maxPixels} pixels";
    }

    /// <summary>Applies the policy to one frame.</summary>
    /// <param name="jpeg">The frame, already validated with <see cref="JpegHeader.TryParse"/>.</param>
    /// <param name="info">The size <see cref="JpegHeader.TryParse"/> read from <paramref name="jpeg"/>.</param>
    /// <returns>
    /// For a frame of at most <see cref="SizePolicyOptions.PassThroughMaxBytes"/>: the same array with
    /// <paramref name="info"/>'s size and <c>Reencoded = false</c>. Otherwise a new JPEG of at most that many bytes,
    /// its (possibly reduced) size and <c>Reencoded = true</c>.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="jpeg"/> is null.</exception>
    /// <exception cref="FrameRejectedException">
    /// <see cref="FrameRejectReason.TooManyPixels"/> when <paramref name="info"/> is over
    /// <see cref="SizePolicyOptions.MaxPixels"/> (checked first, before any decode);
    /// <see cref="FrameRejectReason.TooLarge"/> when the frame is over <see cref="SizePolicyOptions.HardLimitBytes"/>
    /// (or, with extreme limits, cannot be brought under the pass-through size); <see cref="FrameRejectReason.Undecodable"/>
    /// when OpenCV cannot decode it.
    /// </exception>
    public SizePolicyResult Apply(byte[] jpeg, JpegInfo info)
    {
        ArgumentNullException.ThrowIfNull(jpeg);
        if (CheckPixels(info) is { } tooManyPixels) throw new FrameRejectedException(FrameRejectReason.TooManyPixels, tooManyPixels);
        if (jpeg.Length > _hardLimitBytes)
            throw new FrameRejectedException(FrameRejectReason.TooLarge,
                $"frame of {jpeg.Length} bytes is over the hard limit of {_hardLimitBytes} bytes");
        if (jpeg.Length <= _passThroughMaxBytes) return new SizePolicyResult(jpeg, info.Width, info.Height, false);

        using var image = Decode(jpeg);
        return Reencode(image, jpeg.Length);
    }

    private static Mat Decode(byte[] jpeg)
    {
        Mat image;
        try
        {
            image = Cv2.ImDecode(jpeg, ImreadModes.Color);
        }
        catch (OpenCVException ex)
        {
            throw new FrameRejectedException(FrameRejectReason.Undecodable, $"JPEG could not be decoded: {ex.Message}", ex);
        }
        if (!image.Empty()) return image;
        image.Dispose();
        throw new FrameRejectedException(FrameRejectReason.Undecodable, "JPEG could not be decoded");
    }

    private SizePolicyResult Reencode(Mat image, int originalBytes)
    {
        for (var quality = _initialQuality; ; quality = Math.Max(_minQuality, quality - QualityStep))
        {
            var encoded = Encode(image, quality);
            if (encoded.Length <= _passThroughMaxBytes) return new SizePolicyResult(encoded, image.Width, image.Height, true);
            if (quality == _minQuality) break;
        }

        // Always scale from the decoded original so that the steps do not compound resampling losses.
        for (var scale = DownscaleFactor; ; scale *= DownscaleFactor)
        {
            var size = new Size(Math.Max(1, (int)Math.Round(image.Width * scale)), Math.Max(1, (int)Math.Round(image.Height * scale)));
            using var scaled = new Mat();
            Cv2.Resize(image, scaled, size, 0, 0, InterpolationFlags.Area);
            var encoded = Encode(scaled, _minQuality);
            if (encoded.Length <= _passThroughMaxBytes) return new SizePolicyResult(encoded, size.Width, size.Height, true);
            if (size is { Width: 1, Height: 1 })
                throw new FrameRejectedException(FrameRejectReason.TooLarge,
                    $"frame of {originalBytes} bytes cannot be re-encoded under {_passThroughMaxBytes} bytes");
        }
    }

    private static byte[] Encode(Mat image, int quality)
    {
        Cv2.ImEncode(".jpg", image, out var buffer, new ImageEncodingParam(ImwriteFlags.JpegQuality, quality));
        return buffer;
    }
}
