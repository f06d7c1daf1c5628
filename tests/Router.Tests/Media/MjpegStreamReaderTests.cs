using Router.Actors.Media;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Media;

public sealed class MjpegStreamReaderTests
{
    [Fact]
    public void ConcatenatedRealJpegs_AreSplitByteForByte_EvenWithAnEoiInsideAHeaderSegment_AndGarbageBetween()
    {
        var a = TestFrames.Vtest[0];
        var b = WithComment(TestFrames.Vtest[1], [0xFF, 0xD9, 0xFF, 0xD8]); // an EOI and SOI inside a COM segment
        var c = TestFrames.Vtest[2];
        byte[] stream = [.. a, .. "--boundary\r\n"u8, .. b, 0x00, 0xFF, .. c];
        // Read in small, odd pieces so that markers straddle reads.
        var reader = new MjpegStreamReader(new TrickleStream(stream, 7_001), 1_000_000);

        Assert.Equal(a, reader.ReadFrame());
        Assert.Equal(b, reader.ReadFrame());
        Assert.Equal(c, reader.ReadFrame());
        Assert.Null(reader.ReadFrame());
    }

    [Fact]
    public void TruncatedLastFrame_IsDropped()
    {
        var a = TestFrames.Vtest[0];
        byte[] stream = [.. a, .. TestFrames.Vtest[1].AsSpan(0, 5_000)];
        var reader = new MjpegStreamReader(new MemoryStream(stream), 1_000_000);

        Assert.Equal(a, reader.ReadFrame());
        Assert.Null(reader.ReadFrame());
    }

    [Fact]
    public void StartsWithSoi_TellsJpegFromOtherStreams_WithoutConsuming()
    {
        var jpeg = new MjpegStreamReader(new MemoryStream(TestFrames.Vtest[0]), 1_000_000);
        Assert.True(jpeg.StartsWithSoi());
        Assert.Equal(TestFrames.Vtest[0], jpeg.ReadFrame());
        // What ffmpeg -c:v copy writes for an H.264 source: an Annex B start code.
        Assert.False(new MjpegStreamReader(new MemoryStream([0, 0, 0, 1, 0x67, 0x42]), 1_000).StartsWithSoi());
        Assert.Null(new MjpegStreamReader(new MemoryStream([0xFF]), 1_000).StartsWithSoi());
    }

    [Fact]
    public void EndlessFrame_IsRefusedAtTheBound_WithoutReadingMuchFurther()
    {
        // A hostile source: SOI, a valid SOS header, then entropy data that never ends.
        var endless = new EndlessStream([0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02], 0x11);
        var reader = new MjpegStreamReader(endless, 1_000_000);

        var error = Assert.Throws<InvalidDataException>(() => reader.ReadFrame());

        Assert.Contains("exceeds 1000000 bytes", error.Message, StringComparison.Ordinal);
        Assert.InRange(reader.BytesRead, 1_000_000, 1_000_000 + 2 * 65_536);
    }

    [Fact]
    public void EndlessGarbage_WithoutSoi_IsRefusedAtTheBound()
    {
        var reader = new MjpegStreamReader(new EndlessStream([], 0x42), 100_000);

        Assert.Throws<InvalidDataException>(() => reader.ReadFrame());
        Assert.InRange(reader.BytesRead, 100_000, 100_000 + 2 * 65_536);
    }

    [Fact]
    public void EndlessFillBytes_InTheHeaders_AreRefusedAtTheBound()
    {
        var reader = new MjpegStreamReader(new EndlessStream([0xFF, 0xD8], 0xFF), 100_000);

        Assert.Throws<InvalidDataException>(() => reader.ReadFrame());
        Assert.InRange(reader.BytesRead, 100_000, 100_000 + 2 * 65_536);
    }

    [Fact]
    public void HeaderSegmentBeyondTheBound_IsRefusedBeforeItIsRead()
    {
        // SOI, then an APP1 segment declaring 65535 bytes, against a 1000-byte bound.
        var reader = new MjpegStreamReader(new TrickleStream([0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, .. new byte[200_000]], 100), 1_000);

        Assert.Throws<InvalidDataException>(() => reader.ReadFrame());
        Assert.True(reader.BytesRead <= 100, $"{reader.BytesRead} bytes read");
    }

    private static byte[] WithComment(byte[] jpeg, byte[] comment)
    {
        var length = comment.Length + 2;
        return [0xFF, 0xD8, 0xFF, 0xFE, (byte)(length >> 8), (byte)length, .. comment, .. jpeg.AsSpan(2)];
    }

    /// <summary>Returns at most <c>piece</c> bytes per read.</summary>
    private sealed class TrickleStream(byte[] data, int piece) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, piece));
    }

    /// <summary>A prefix, then the filler byte forever.</summary>
    private sealed class EndlessStream(byte[] prefix, byte filler) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count)
        {
            for (var i = 0; i < count; i++, _position++)
                buffer[offset + i] = _position < prefix.Length ? prefix[_position] : filler;
            return count;
        }
    }
}

public sealed class RetryBackoffTests
{
    [Fact]
    public void Delays_DoubleFromHalfASecond_UpTo30Seconds_WithinTheJitter()
    {
        var backoff = new RetryBackoff(new Random(12));
        double[] expected = [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30];
        foreach (var seconds in expected)
            Assert.InRange(backoff.NextDelay().TotalSeconds, seconds * 0.75, seconds * 1.25);
    }

    [Fact]
    public void AHealthyConnection_ResetsTheSchedule_AShortOneDoesNot()
    {
        var backoff = new RetryBackoff(new Random(3));
        for (var i = 0; i < 5; i++) backoff.NextDelay();

        backoff.Succeeded(TimeSpan.FromSeconds(2));
        Assert.InRange(backoff.NextDelay().TotalSeconds, 16 * 0.75, 16 * 1.25);

        backoff.Succeeded(RetryBackoff.HealthyAfter);
        Assert.InRange(backoff.NextDelay().TotalSeconds, 0.5 * 0.75, 0.5 * 1.25);
    }

    [Fact]
    public void AThousandSourcesFailingTogether_DoNotRetryInLockStep()
    {
        // Shared random source, as in production: the delays of the 7th attempt (30 s step) spread over ±25 %.
        var delays = Enumerable.Range(0, 1000).Select(_ =>
        {
            var backoff = new RetryBackoff();
            for (var i = 0; i < 6; i++) backoff.NextDelay();
            return backoff.NextDelay().TotalSeconds;
        }).ToList();

        Assert.InRange(delays.Min(), 22.5, 24);
        Assert.InRange(delays.Max(), 36, 37.5);
        // No more than 5 % of them within any one 100 ms window.
        var busiest = delays.GroupBy(d => (int)(d * 10)).Max(g => g.Count());
        Assert.True(busiest <= 50, $"{busiest} of 1000 retries fall in the same 100 ms");
    }
}

public sealed class FfmpegChildArgumentsTests
{
    [Theory]
    [InlineData(100, 2)]
    [InlineData(85, 2)]
    [InlineData(75, 3)]
    [InlineData(50, 7)]
    [InlineData(25, 13)]
    [InlineData(1, 31)]
    public void JpegQuality_MapsToFfmpegQscale(int quality, int qscale) =>
        Assert.Equal(qscale, PullSourceCapture.FfmpegQscale(quality));

    [Fact]
    public void CopyAndEncodeCommandLines_WriteMjpegToStdout_RtspOverTcp()
    {
        var copy = string.Join(' ', FfmpegChild.Arguments("rtsp://u:p@cam/1", copy: true, qscale: 2));
        var encode = string.Join(' ', FfmpegChild.Arguments("http://cam/x.mjpg", copy: false, qscale: 7));

        Assert.Contains("-rtsp_transport tcp -i rtsp://u:p@cam/1 -map 0:v:0", copy, StringComparison.Ordinal);
        Assert.Contains("-c:v copy -f mjpeg pipe:1", copy, StringComparison.Ordinal);
        Assert.DoesNotContain("rtsp_transport", encode, StringComparison.Ordinal);
        Assert.Contains("-c:v mjpeg -pix_fmt yuvj420p -q:v 7 -f mjpeg pipe:1", encode, StringComparison.Ordinal);
    }
}
