using OpenCvSharp;
using Router.Actors.Media;
using Router.Protocol;
using Xunit;

namespace Router.Tests.Media;

public sealed class JpegHeaderTests
{
    [Theory]
    [InlineData("baboon.jpg")]
    [InlineData("starry_night.jpg")]
    [InlineData("building.jpg")]
    public void RealJpegFiles_ParseToTheSizeOpenCvDecodes(string fileName)
    {
        var jpeg = File.ReadAllBytes(TestMedia.SharedMediaPath(fileName));

        Assert.True(JpegHeader.TryParse(jpeg, out var info, out var error), error);

        Assert.Null(error);
        var (width, height) = TestMedia.DecodedSize(jpeg);
        Assert.Equal(new JpegInfo(width, height), info);
    }

    [Fact]
    public void FramesEncodedFromVtest_ParseAs768x576InEveryEncoderMode()
    {
        var frames = TestMedia.ReadFrames(TestMedia.SharedMediaPath("vtest.avi"), 12);
        try
        {
            Assert.Equal(12, frames.Count);
            foreach (var frame in frames)
            {
                byte[][] encodings =
                [
                    TestMedia.EncodeJpeg(frame, 30),
                    TestMedia.EncodeJpeg(frame, 95),
                    TestMedia.EncodeJpeg(frame, 80, new ImageEncodingParam(ImwriteFlags.JpegProgressive, 1)),
                    TestMedia.EncodeJpeg(frame, 80, new ImageEncodingParam(ImwriteFlags.JpegOptimize, 1)),
                    TestMedia.EncodeJpeg(frame, 80, new ImageEncodingParam(ImwriteFlags.JpegRstInterval, 4)),
                ];
                foreach (var jpeg in encodings)
                {
                    Assert.True(JpegHeader.TryParse(jpeg, out var info, out var error), error);
                    Assert.Equal(new JpegInfo(768, 576), info);
                    Assert.Equal((768, 576), TestMedia.DecodedSize(jpeg));
                }
            }
        }
        finally
        {
            frames.ForEach(f => f.Dispose());
        }
    }

    [Fact]
    public void ProgressiveJpeg_IsReadFromItsSof2Header()
    {
        using var image = Cv2.ImRead(TestMedia.SharedMediaPath("starry_night.jpg"));
        var jpeg = TestMedia.EncodeJpeg(image, 85, new ImageEncodingParam(ImwriteFlags.JpegProgressive, 1));
        Assert.True(TestMedia.FindSegment(jpeg, 0xC2) > 0); // the encoder wrote SOF2

        Assert.True(JpegHeader.TryParse(jpeg, out var info, out _));

        Assert.Equal(new JpegInfo(image.Width, image.Height), info);
    }

    [Fact]
    public void TrailingZeroPadding_IsAccepted()
    {
        var jpeg = BuildingJpeg();
        byte[] padded = [.. jpeg, 0, 0, 0, 0];

        Assert.True(JpegHeader.TryParse(padded, out var info, out var error), error);
        Assert.Equal(new JpegInfo(868, 600), info);
    }

    [Fact]
    public void FillBytesAndStandaloneMarkers_BeforeSegments_AreSkipped()
    {
        var jpeg = BuildingJpeg();
        // SOI, then TEM (FF 01), then the first segment's marker preceded by two extra FF fill bytes.
        byte[] modified = [.. jpeg[..2], 0xFF, 0x01, 0xFF, 0xFF, .. jpeg[2..]];

        Assert.True(JpegHeader.TryParse(modified, out var info, out var error), error);
        Assert.Equal(new JpegInfo(868, 600), info);
    }

    [Theory]
    [InlineData("empty", "missing SOI")]
    [InlineData("one byte", "missing SOI")]
    [InlineData("random bytes", "missing SOI")]
    [InlineData("png", "missing SOI")]
    [InlineData("soi only", "no SOF header")]
    [InlineData("soi and eoi", "no SOF header")]
    [InlineData("truncated after sof", "truncated")]
    [InlineData("truncated inside a segment", "overruns")]
    [InlineData("missing eoi", "missing EOI")]
    [InlineData("garbage after eoi", "missing EOI")]
    [InlineData("zero-length segment", "invalid length of 0")]
    [InlineData("sof with zero width", "width/height is zero")]
    [InlineData("sof with zero height", "width/height is zero")]
    [InlineData("sof too short", "too short")]
    [InlineData("sos before sof", "no SOF header")]
    [InlineData("bytes where a marker belongs", "expected a marker")]
    public void MalformedInput_IsRejectedWithAReason(string kind, string expectedError)
    {
        var data = Malformed(kind);

        var ok = JpegHeader.TryParse(data, out var info, out var error);

        Assert.False(ok);
        Assert.Equal(default, info);
        Assert.NotNull(error);
        Assert.Contains(expectedError, error, StringComparison.Ordinal);
    }

    [Fact]
    public void NeverThrows_OnTruncationsMutationsAndRandomData()
    {
        var jpeg = BuildingJpeg();
        var random = new Random(20240611);
        var accepted = 0;
        for (var length = 0; length < jpeg.Length; length += length < 2048 ? 1 : 997)
            accepted += Parse(jpeg.AsSpan(0, length)) ? 1 : 0;
        Assert.Equal(0, accepted); // every truncation lacks EOI

        for (var i = 0; i < 5000; i++)
        {
            var mutated = (byte[])jpeg.Clone();
            for (var j = random.Next(1, 8); j > 0; j--) mutated[random.Next(Math.Min(mutated.Length, 1024))] = (byte)random.Next(256);
            Parse(mutated);

            var noise = new byte[random.Next(0, 512)];
            random.NextBytes(noise);
            if (noise.Length >= 3) (noise[0], noise[1], noise[2]) = ((byte)0xFF, (byte)0xD8, (byte)0xFF);
            Parse(noise);
        }

        static bool Parse(ReadOnlySpan<byte> data)
        {
            var ok = JpegHeader.TryParse(data, out var info, out var error);
            Assert.Equal(ok, error is null);
            if (ok) Assert.True(info.Width > 0 && info.Height > 0);
            return ok;
        }
    }

    private static byte[] BuildingJpeg() => File.ReadAllBytes(TestMedia.SharedMediaPath("building.jpg"));

    private static byte[] Malformed(string kind)
    {
        using var image = Cv2.ImRead(TestMedia.SharedMediaPath("baboon.jpg"));
        var jpeg = TestMedia.EncodeJpeg(image, 75); // SOI, APP0, DQT, SOF0, DHT, SOS, scan, EOI
        var sof = TestMedia.FindSegment(jpeg, 0xC0);
        var sofEnd = sof + 2 + TestMedia.SegmentLength(jpeg, sof);
        var sos = TestMedia.FindSegment(jpeg, 0xDA);
        switch (kind)
        {
            case "empty":
                return [];
            case "one byte":
                return [0xFF];
            case "random bytes":
                var noise = new byte[4096];
                new Random(7).NextBytes(noise);
                noise[0] = 0x00;
                return noise;
            case "png":
                Cv2.ImEncode(".png", image, out var png);
                return png;
            case "soi only":
                return [0xFF, 0xD8];
            case "soi and eoi":
                return [0xFF, 0xD8, 0xFF, 0xD9];
            case "truncated after sof":
                return jpeg[..sofEnd];
            case "truncated inside a segment":
                return jpeg[..(sof + 6)];
            case "missing eoi":
                return jpeg[..^2];
            case "garbage after eoi":
                return [.. jpeg, 0x12, 0x34];
            case "zero-length segment":
                return [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x00, .. jpeg[2..]];
            case "sof with zero width":
                jpeg[sof + 7] = 0;
                jpeg[sof + 8] = 0;
                return jpeg;
            case "sof with zero height":
                jpeg[sof + 5] = 0;
                jpeg[sof + 6] = 0;
                return jpeg;
            case "sof too short":
                return [0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x05, 0x08, 0x01, 0x00, .. jpeg[sofEnd..]];
            case "sos before sof":
                return [.. jpeg[..sof], .. jpeg[sofEnd..]];
            case "bytes where a marker belongs":
                return [.. jpeg[..sos], 0x00, .. jpeg[sos..]];
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }
}
