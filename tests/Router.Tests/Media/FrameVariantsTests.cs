using CsCheck;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Primitives;
using OpenCvSharp;
using Router.Actors.Camera;
using Router.Actors.Hosting;
using Router.Actors.Identity;
using Router.Actors.Media;
using Router.Actors.Messages;
using Router.Gateway.Streaming;
using Router.Protocol;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Media;

/// <summary>Variant sizes, the OpenCV variant encoder on real JPEG frames, and the parsing and settings of variants.</summary>
public sealed class FrameVariantsTests
{
    [Fact]
    public void Target_size_fits_the_bounds_keeps_the_aspect_ratio_and_never_upscales()
    {
        Gen.Select(Gen.Int[1, 8000], Gen.Int[1, 8000], Gen.Int[0, 7680], Gen.Int[0, 7680]).Sample((width, height, maxWidth, maxHeight) =>
        {
            var (w, h) = new VariantSpec(maxWidth, maxHeight, 75).TargetSize(width, height);
            Assert.InRange(w, 1, width);
            Assert.InRange(h, 1, height);
            if (maxWidth > 0 && maxWidth < width && w > 1) Assert.True(w <= maxWidth, $"{w} > {maxWidth}");
            if (maxHeight > 0 && maxHeight < height && h > 1) Assert.True(h <= maxHeight, $"{h} > {maxHeight}");
            // One scale factor for both sides, up to rounding to whole pixels.
            if (w > 1 && h > 1 && (w, h) != (width, height))
                Assert.InRange((double)w / h, (w - 1.0) / (h + 1.0), (w + 1.0) / (h - 1.0));
            if ((maxWidth == 0 || maxWidth >= width) && (maxHeight == 0 || maxHeight >= height)) Assert.Equal((width, height), (w, h));
        });
    }

    [Theory]
    [InlineData(320, 0, 320, 240, ImreadModes.ReducedColor2)]
    [InlineData(160, 0, 160, 120, ImreadModes.ReducedColor4)]
    [InlineData(96, 0, 96, 72, ImreadModes.ReducedColor8)]
    [InlineData(0, 500, 667, 500, ImreadModes.Color)]
    [InlineData(0, 0, 768, 576, ImreadModes.Color)]
    public void A_real_frame_is_decoded_reduced_where_it_fits_and_encoded_at_the_target_size(int maxWidth, int maxHeight, int width, int height, ImreadModes mode)
    {
        var jpeg = TestFrames.Vtest[7];
        var frame = new VideoFrame(new StreamKey("acme", "s", "c"), jpeg, TestFrames.Width, TestFrames.Height, 123, 9, false);
        Assert.Equal(mode, FrameVariants.ReducedMode(TestFrames.Width, TestFrames.Height, width, height));

        var variant = FrameVariants.Encode(frame, new VariantSpec(maxWidth, maxHeight, 60));

        Assert.Equal((width, height), (variant.Width, variant.Height));
        Assert.True(JpegHeader.TryParse(variant.Jpeg, out var info, out _));
        Assert.Equal((width, height), (info.Width, info.Height));
        Assert.Equal((frame.Key, 123L, 9L, true), (variant.Key, variant.TimestampMs, variant.Sequence, variant.Reencoded));
        // The picture is the frame's, not noise: close to the original scaled with OpenCV directly.
        using var expected = Cv2.ImDecode(jpeg, ImreadModes.Color).Resize(new OpenCvSharp.Size(width, height), 0, 0, InterpolationFlags.Area);
        using var actual = Cv2.ImDecode(variant.Jpeg, ImreadModes.Color);
        Assert.True(Cv2.PSNR(expected, actual) > 25, $"PSNR {Cv2.PSNR(expected, actual):F1} dB");
    }

    [Fact]
    public void An_undecodable_frame_is_refused_with_an_invalid_data_error()
    {
        var broken = TestFrames.Vtest[0].ToArray();
        Array.Clear(broken, 600, broken.Length - 602); // keeps SOI, the headers and EOI
        var frame = new VideoFrame(new StreamKey("acme", "s", "c"), broken[..620].Concat(new byte[] { 0xFF, 0xD9 }).ToArray(), TestFrames.Width, TestFrames.Height, 1, 1, false);
        var error = Record.Exception(() => FrameVariants.Encode(frame, new VariantSpec(320, 0, 70)));
        // OpenCV either refuses it (InvalidDataException) or decodes a grey picture; it never throws anything else.
        Assert.True(error is null or InvalidDataException, error?.ToString());
    }

    [Theory]
    [InlineData("width=320", 320, 0, 0)]
    [InlineData("height=240&quality=60", 0, 240, 60)]
    [InlineData("width=16&height=7680&quality=1", 16, 7680, 1)]
    [InlineData("quality=100", 0, 0, 100)]
    public void Variant_parameters_parse(string query, int width, int height, int quality)
    {
        var parsed = QueryHelpers(query);
        Assert.True(ConsumerRequestParser.TryParseVariant(parsed, out var variant, out var error), error);
        Assert.Equal(new VariantSpec(width, height, quality), variant);
        Assert.Equal(variant, ConsumerRequestParser.Parse(parsed, "src", out _)!.Variant);
    }

    [Fact]
    public void No_variant_parameters_mean_full_size()
    {
        Assert.True(ConsumerRequestParser.TryParseVariant(QueryHelpers("camera_id=a"), out var variant, out _));
        Assert.Null(variant);
    }

    [Fact]
    public void Variant_settings_are_checked_at_start()
    {
        var options = new CameraOptions { Variants = new() { MaxPerCamera = 0, EncodeConcurrency = -1, DefaultQuality = 101 } };
        var problems = CameraOptionsValidator.Problems(options);
        Assert.Contains(problems, p => p.StartsWith("Router:Camera:Variants:MaxPerCamera"));
        Assert.Contains(problems, p => p.StartsWith("Router:Camera:Variants:EncodeConcurrency"));
        Assert.Contains(problems, p => p.StartsWith("Router:Camera:Variants:DefaultQuality"));
        Assert.Empty(CameraOptionsValidator.Problems(new CameraOptions()));
    }

    [Fact]
    public void Variant_settings_are_known_to_the_configuration_surface_and_typos_are_refused()
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Router:Camera:Variants:MaxPerCamera"] = "2",
            ["Router:Camera:Variants:EncodeConcurrency"] = "1",
            ["Router:Camera:Variants:DefaultQuality"] = "60",
        }).Build();
        Assert.Empty(Router.Node.RouterNodeApp.ConfigurationSurface.Problems(configuration, RouterSettingRoles.Gateway));
        var typo = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Router:Camera:Variants:MaxPerCamra"] = "2",
        }).Build();
        Assert.Contains(Router.Node.RouterNodeApp.ConfigurationSurface.Problems(typo, RouterSettingRoles.Gateway), p => p.Contains("MaxPerCamera"));
    }

    private static QueryCollection QueryHelpers(string query) =>
        new(Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(query).ToDictionary(p => p.Key, p => (StringValues)p.Value));
}
