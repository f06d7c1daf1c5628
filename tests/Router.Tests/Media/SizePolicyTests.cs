using OpenCvSharp;
using Router.Actors.Media;
using Router.Actors.Messages;
using Router.Protocol;
using Xunit;

namespace Router.Tests.Media;

public sealed class SizePolicyTests
{
    private static readonly Lazy<byte[]> NineHundredKbJpeg = new(() => UpscaledBaboon(850_000));
    private static readonly Lazy<byte[]> OverOneMibJpeg = new(() => UpscaledBaboon(1_100_000));

    [Fact]
    public void DefaultOptions_MatchTheDocumentedLimits()
    {
        var options = new SizePolicyOptions();

        Assert.Equal(750_000, options.PassThroughMaxBytes);
        Assert.Equal(1_048_576, options.HardLimitBytes);
        Assert.Equal(85, options.InitialReencodeQuality);
        Assert.Equal(40, options.MinReencodeQuality);
    }

    [Fact]
    public void SmallRealJpeg_PassesThroughAsTheSameArray()
    {
        var jpeg = File.ReadAllBytes(TestMedia.SharedMediaPath("building.jpg"));
        var original = (byte[])jpeg.Clone();
        Assert.True(JpegHeader.TryParse(jpeg, out var info, out _));

        var result = new SizePolicy(new SizePolicyOptions()).Apply(jpeg, info);

        Assert.Same(jpeg, result.Jpeg);
        Assert.True(original.AsSpan().SequenceEqual(result.Jpeg));
        Assert.Equal((info.Width, info.Height, false), (result.Width, result.Height, result.Reencoded));
    }

    [Fact]
    public void VideoFrameOfAbout80Kb_PassesThroughUnchanged()
    {
        var frames = TestMedia.ReadFrames(TestMedia.SharedMediaPath("vtest.avi"), 1);
        using var frame = Assert.Single(frames);
        var jpeg = TestMedia.EncodeJpeg(frame, 85);
        Assert.InRange(jpeg.Length, 40_000, 100_000); // ~89 KB from vtest.avi, ~57 KB from its re-encoded trim lobby.avi
        var original = (byte[])jpeg.Clone();
        Assert.True(JpegHeader.TryParse(jpeg, out var info, out _));

        var result = new SizePolicy(new SizePolicyOptions()).Apply(jpeg, info);

        Assert.Same(jpeg, result.Jpeg);
        Assert.True(original.AsSpan().SequenceEqual(result.Jpeg));
        Assert.Equal((768, 576, false), (result.Width, result.Height, result.Reencoded));
    }

    [Fact]
    public void JpegBetweenTheLimits_IsReencodedUnderThePassThroughSize()
    {
        var jpeg = NineHundredKbJpeg.Value;
        Assert.InRange(jpeg.Length, 850_000, 1_000_000);
        Assert.True(JpegHeader.TryParse(jpeg, out var info, out _));

        var result = new SizePolicy(new SizePolicyOptions()).Apply(jpeg, info);

        Assert.True(result.Reencoded);
        Assert.NotSame(jpeg, result.Jpeg);
        Assert.InRange(result.Jpeg.Length, 1, 750_000);
        Assert.Equal((info.Width, info.Height), (result.Width, result.Height)); // lower quality was enough
        Assert.Equal((result.Width, result.Height), TestMedia.DecodedSize(result.Jpeg));
        Assert.True(JpegHeader.TryParse(result.Jpeg, out var reencoded, out _));
        Assert.Equal(new JpegInfo(result.Width, result.Height), reencoded);
    }

    [Fact]
    public void WhenLowerQualityIsNotEnough_TheFrameIsDownscaled()
    {
        var jpeg = NineHundredKbJpeg.Value;
        Assert.True(JpegHeader.TryParse(jpeg, out var info, out _));
        var policy = new SizePolicy(new SizePolicyOptions { PassThroughMaxBytes = 60_000 });

        var result = policy.Apply(jpeg, info);

        Assert.True(result.Reencoded);
        Assert.InRange(result.Jpeg.Length, 1, 60_000);
        Assert.True(result.Width < info.Width && result.Height < info.Height, $"{result.Width}x{result.Height} is not smaller than {info.Width}x{info.Height}");
        Assert.Equal((double)info.Width / info.Height, (double)result.Width / result.Height, 0.02);
        Assert.Equal((result.Width, result.Height), TestMedia.DecodedSize(result.Jpeg));
    }

    [Fact]
    public void JpegOverTheHardLimit_IsRejectedAsTooLarge()
    {
        var jpeg = OverOneMibJpeg.Value;
        Assert.True(jpeg.Length > 1_048_576);
        Assert.True(JpegHeader.TryParse(jpeg, out var info, out _));

        var ex = Assert.Throws<FrameRejectedException>(() => new SizePolicy(new SizePolicyOptions()).Apply(jpeg, info));

        Assert.Equal(FrameRejectReason.TooLarge, ex.Reason);
        Assert.Contains(jpeg.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void JpegThatOpenCvCannotDecode_IsRejectedAsUndecodable()
    {
        var jpeg = (byte[])NineHundredKbJpeg.Value.Clone();
        var sof = TestMedia.FindSegment(jpeg, 0xC0);
        jpeg[sof + 4] = 7; // sample precision 7 bits: the header parses, the decoder refuses it
        Assert.True(JpegHeader.TryParse(jpeg, out var info, out var error), error);

        var ex = Assert.Throws<FrameRejectedException>(() => new SizePolicy(new SizePolicyOptions()).Apply(jpeg, info));

        Assert.Equal(FrameRejectReason.Undecodable, ex.Reason);
    }

    [Fact]
    public void ConcurrentCalls_OnOnePolicy_GiveTheSameResult()
    {
        var jpeg = NineHundredKbJpeg.Value;
        Assert.True(JpegHeader.TryParse(jpeg, out var info, out _));
        var policy = new SizePolicy(new SizePolicyOptions());

        var results = Enumerable.Range(0, 4).AsParallel().Select(_ => policy.Apply(jpeg, info)).ToList();

        Assert.All(results, r => Assert.True(results[0].Jpeg.AsSpan().SequenceEqual(r.Jpeg)));
    }

    [Theory]
    [InlineData(0, 1_048_576, 85, 40)]
    [InlineData(750_000, 700_000, 85, 40)]
    [InlineData(750_000, 1_048_576, 101, 40)]
    [InlineData(750_000, 1_048_576, 85, 0)]
    [InlineData(750_000, 1_048_576, 40, 85)]
    public void InconsistentOptions_AreRefused(int passThrough, int hardLimit, int initialQuality, int minQuality)
    {
        var options = new SizePolicyOptions
        {
            PassThroughMaxBytes = passThrough,
            HardLimitBytes = hardLimit,
            InitialReencodeQuality = initialQuality,
            MinReencodeQuality = minQuality,
        };

        Assert.Throws<ArgumentException>(() => new SizePolicy(options));
    }

    /// <summary>baboon.jpg, upscaled (bicubic) in small steps until its quality-100 JPEG has at least <paramref name="minBytes"/>.</summary>
    private static byte[] UpscaledBaboon(int minBytes)
    {
        using var baboon = Cv2.ImRead(TestMedia.SharedMediaPath("baboon.jpg"));
        for (var scale = 1.0; scale < 4; scale += 0.02)
        {
            using var upscaled = new Mat();
            Cv2.Resize(baboon, upscaled, new Size(0, 0), scale, scale, InterpolationFlags.Cubic);
            var jpeg = TestMedia.EncodeJpeg(upscaled, 100);
            if (jpeg.Length >= minBytes) return jpeg;
        }
        throw new InvalidOperationException($"no upscaled baboon.jpg reaches {minBytes} bytes");
    }
}
