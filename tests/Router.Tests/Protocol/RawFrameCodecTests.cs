using System.Buffers.Binary;
using CsCheck;
using Router.Protocol;
using Router.Tests.Fuzz;
using Xunit;

namespace Router.Tests.Protocol;

/// <summary>The raw frame message (type 0x02) and its layouts, including hostile sizes.</summary>
public sealed class RawFrameCodecTests
{
    [Theory]
    [InlineData(RawPixelFormat.Rgba, 1920, 1080, 8_294_400)] // LiveKit: RGBA 4 bytes per pixel
    [InlineData(RawPixelFormat.Bgra, 1920, 1080, 8_294_400)]
    [InlineData(RawPixelFormat.I420, 1920, 1080, 3_110_400)] // 1.5 bytes per pixel
    [InlineData(RawPixelFormat.Nv12, 1920, 1080, 3_110_400)]
    [InlineData(RawPixelFormat.Rgb24, 1920, 1080, 6_220_800)] // 3 bytes per pixel
    [InlineData(RawPixelFormat.Bgr24, 640, 480, 921_600)]
    public void Packed_sizes_are_format_times_width_times_height(RawPixelFormat format, int width, int height, int bytes)
    {
        Assert.True(RawFrameLayout.TryCreate(format, width, height, 0, out var layout, out var error), error);
        Assert.Equal(bytes, layout.ByteCount);
        Assert.False(layout.IsPadded);
    }

    [Theory]
    [InlineData(RawPixelFormat.I420, 640, 480, 704, 704 * 480 + 2 * 352 * 240)]
    [InlineData(RawPixelFormat.Nv12, 640, 480, 704, 704 * 480 + 704 * 240)]
    [InlineData(RawPixelFormat.Rgba, 640, 480, 2600, 2600 * 480)]
    [InlineData(RawPixelFormat.Rgb24, 5, 3, 16, 48)]
    public void A_stride_adds_padding_per_row(RawPixelFormat format, int width, int height, int stride, int bytes)
    {
        Assert.True(RawFrameLayout.TryCreate(format, width, height, stride, out var layout, out var error), error);
        Assert.Equal(bytes, layout.ByteCount);
        Assert.True(layout.IsPadded);
    }

    [Theory]
    [InlineData(RawPixelFormat.Rgba, 65500, 65500, 0, "over 2147483647")] // 17 G bytes: width*height*4 overflows int
    [InlineData(RawPixelFormat.Rgb24, 30000, 30000, 0, "over 2147483647")]
    [InlineData(RawPixelFormat.Rgba, 4294967295, 1, 0, "must be 1–65500")] // u32 max
    [InlineData(RawPixelFormat.Rgba, 1, 4294967295, 0, "must be 1–65500")]
    [InlineData(RawPixelFormat.Rgba, 0, 10, 0, "must be 1–65500")]
    [InlineData(RawPixelFormat.Rgba, 640, 480, 2559, "below the row's 2560 bytes")] // stride < row bytes
    [InlineData(RawPixelFormat.Rgba, 640, 480, 4294967295, "out of range")] // stride u32 max
    [InlineData(RawPixelFormat.I420, 640, 480, 65535 * 32768 + 1, "must be even")]
    [InlineData(RawPixelFormat.Bgra, 2, 65500, 2147483647, "over 2147483647")] // stride × height overflows int
    [InlineData(RawPixelFormat.I420, 641, 480, 0, "must be even")]
    [InlineData(RawPixelFormat.Nv12, 640, 481, 0, "must be even")]
    [InlineData(RawPixelFormat.I420, 640, 480, 641, "must be even")] // chroma rows are stride/2
    [InlineData((RawPixelFormat)0, 640, 480, 0, "unknown raw pixel format")]
    [InlineData((RawPixelFormat)7, 640, 480, 0, "unknown raw pixel format")]
    public void Hostile_geometry_is_refused_with_a_reason_and_never_overflows(RawPixelFormat format, long width, long height, long stride, string reason)
    {
        Assert.False(RawFrameLayout.TryCreate(format, width, height, stride, out _, out var error));
        Assert.Contains(reason, error);
    }

    [Theory]
    [InlineData("i420", RawPixelFormat.I420)]
    [InlineData("NV12", RawPixelFormat.Nv12)]
    [InlineData("Rgba", RawPixelFormat.Rgba)]
    [InlineData("bgrA", RawPixelFormat.Bgra)]
    [InlineData("RGB24", RawPixelFormat.Rgb24)]
    [InlineData("bgr24", RawPixelFormat.Bgr24)]
    public void Format_names_are_case_insensitive(string name, RawPixelFormat format)
    {
        Assert.True(RawPixelFormats.TryParse(name, out var parsed));
        Assert.Equal(format, parsed);
        Assert.Equal(name.ToLowerInvariant(), RawPixelFormats.Name(format));
    }

    [Theory]
    [InlineData("yuv")]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("rgba ")]
    [InlineData("i420a")]
    public void Unknown_format_names_are_refused(string? name) => Assert.False(RawPixelFormats.TryParse(name, out _));

    [Theory]
    [InlineData(RawPixelFormat.I420, 0)]
    [InlineData(RawPixelFormat.Nv12, 0)]
    [InlineData(RawPixelFormat.Rgba, 0)]
    [InlineData(RawPixelFormat.Rgb24, 40)]
    [InlineData(RawPixelFormat.I420, 24)]
    public void Messages_round_trip_through_the_device_parser(RawPixelFormat format, int stride)
    {
        Assert.True(RawFrameLayout.TryCreate(format, 10, 6, stride, out var layout, out var error), error);
        var pixels = Enumerable.Range(0, layout.ByteCount).Select(i => (byte)(i * 7)).ToArray();
        var message = RawFrameCodec.Encode("robot-1", "front/left", layout, 1_763_900_000_123, pixels);
        Assert.Equal(RawFrameCodec.HeaderLength("robot-1", "front/left") + layout.ByteCount, message.Length);

        var parsed = DeviceMessageParser.ParseBinary(message);
        Assert.Null(parsed.Error);
        Assert.Null(parsed.Jpeg);
        Assert.Equal(("front/left", 1_763_900_000_123L), (parsed.CameraId, parsed.TimestampMs));
        Assert.Equal(layout, parsed.Raw!.Layout);
        Assert.Equal(pixels, parsed.Raw.Pixels);
    }

    [Fact]
    public void The_header_is_laid_out_byte_for_byte_as_documented()
    {
        Assert.True(RawFrameLayout.TryCreate(RawPixelFormat.Rgba, 2, 1, 12, out var layout, out _));
        var message = RawFrameCodec.Encode("s", "cam", layout, 0x0102030405060708, new byte[12]);
        byte[] expected =
        [
            0x02, 1, (byte)'s', 3, (byte)'c', (byte)'a', (byte)'m', 3, // type, S, source_id, C, camera_id, format (rgba = 3)
            0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 12, // width, height, stride (u32 BE)
            1, 2, 3, 4, 5, 6, 7, 8, // timestamp_ms (i64 BE)
        ];
        Assert.Equal(expected, message[..expected.Length]);
        Assert.Equal(expected.Length + 12, message.Length);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    [InlineData(-4799)]
    public void A_payload_that_does_not_match_is_refused_naming_expected_and_actual_sizes(int delta)
    {
        Assert.True(RawFrameLayout.TryCreate(RawPixelFormat.I420, 80, 60, 0, out var layout, out _));
        var message = RawFrameCodec.Encode("s", "c", layout, 1, new byte[layout.ByteCount + delta]);
        var parsed = DeviceMessageParser.ParseBinary(message);
        Assert.Null(parsed.Raw);
        Assert.Equal($"raw i420 frame 80×60 needs exactly 7200 bytes of pixels, got {7200 + delta}", parsed.Error);
    }

    [Fact]
    public void Only_a_wrong_pixel_length_is_flagged_as_a_length_mismatch()
    {
        Assert.True(RawFrameLayout.TryCreate(RawPixelFormat.I420, 80, 60, 0, out var layout, out _));
        Assert.True(DeviceMessageParser.ParseBinary(RawFrameCodec.Encode("s", "c", layout, 1, new byte[layout.ByteCount - 1])).RawLengthMismatch);
        var message = RawFrameCodec.Encode("s", "c", layout, 1, new byte[layout.ByteCount]);
        Assert.False(DeviceMessageParser.ParseBinary(message).RawLengthMismatch); // accepted
        message[1 + 2 + 2] = 9; // unknown format: malformed, not a length problem
        var parsed = DeviceMessageParser.ParseBinary(message);
        Assert.NotNull(parsed.Error);
        Assert.False(parsed.RawLengthMismatch);
    }

    [Fact]
    public void Hostile_header_values_in_a_message_are_refused_without_allocating_their_size()
    {
        Assert.True(RawFrameLayout.TryCreate(RawPixelFormat.Rgba, 2, 2, 0, out var layout, out _));
        var message = RawFrameCodec.Encode("s", "c", layout, 1, new byte[16]);
        var fields = 1 + 2 + 2 + 1; // type, "s", "c", then format
        void Set(int offset, uint value) => BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(fields + offset), value);

        Set(0, uint.MaxValue); // width
        Assert.Contains("must be 1–65500", DeviceMessageParser.ParseBinary(message).Error);
        Set(0, 65500); Set(4, 65500); // 65500 × 65500 RGBA: 17 G bytes
        Assert.Contains("over 2147483647", DeviceMessageParser.ParseBinary(message).Error);
        Set(0, 2); Set(4, 2); Set(8, 7); // stride below 8 bytes per row
        Assert.Contains("below the row's 8 bytes", DeviceMessageParser.ParseBinary(message).Error);
        Set(8, 0);
        message[fields - 1] = 9; // unknown format
        Assert.Contains("unknown pixel format 9", DeviceMessageParser.ParseBinary(message).Error);
    }

    [Fact]
    public void Every_truncation_of_a_message_is_an_error_and_never_throws()
    {
        Assert.True(RawFrameLayout.TryCreate(RawPixelFormat.Nv12, 4, 2, 0, out var layout, out _));
        var message = RawFrameCodec.Encode("robot", "cam", layout, 5, new byte[layout.ByteCount]);
        for (var length = 1; length < message.Length; length++)
        {
            var parsed = DeviceMessageParser.ParseBinary(message.AsSpan(0, length));
            Assert.NotNull(parsed.Error);
            Assert.Null(parsed.Raw);
        }
        Assert.Null(DeviceMessageParser.ParseBinary(message).Error);
    }

    [Fact]
    public void Other_binary_types_name_both_known_types()
    {
        var parsed = DeviceMessageParser.ParseBinary([0x03, 0, 0]);
        Assert.Equal("binary message type must be 0x01 (JPEG video frame) or 0x02 (raw video frame)", parsed.Error);
    }

    [Fact]
    public void Ids_that_are_not_utf8_are_refused()
    {
        Assert.True(RawFrameLayout.TryCreate(RawPixelFormat.Bgr24, 1, 1, 0, out var layout, out _));
        var message = RawFrameCodec.Encode("s", "c", layout, 1, new byte[3]);
        message[4] = 0xFF; // camera_id "c" → invalid UTF-8
        Assert.Equal("raw frame header: source_id/camera_id is not valid UTF-8", DeviceMessageParser.ParseBinary(message).Error);
    }

    [Fact]
    public void Mutated_raw_messages_never_throw_and_parse_only_with_exactly_the_layouts_bytes()
    {
        var seeds = new List<byte[]>();
        foreach (var (format, w, h, stride) in new[] { (RawPixelFormat.I420, 8, 4, 0), (RawPixelFormat.Nv12, 6, 2, 8), (RawPixelFormat.Rgba, 3, 2, 16), (RawPixelFormat.Bgr24, 2, 2, 0) })
        {
            Assert.True(RawFrameLayout.TryCreate(format, w, h, stride, out var layout, out _));
            seeds.Add(RawFrameCodec.Encode("robot", "cam", layout, 42, new byte[layout.ByteCount]));
        }
        Mutations.RandomOrMutated(seeds, 256).Sample(bytes =>
        {
            var parsed = DeviceMessageParser.ParseBinary(bytes);
            if (parsed.Raw is { } raw)
            {
                Assert.Null(parsed.Error);
                Assert.Equal(raw.Layout.ByteCount, raw.Pixels.Length);
                Assert.True(RawFrameLayout.TryCreate(raw.Layout.Format, raw.Layout.Width, raw.Layout.Height, raw.Layout.Stride, out var again, out _));
                Assert.Equal(again, raw.Layout);
            }
            else if (parsed.Jpeg is null)
            {
                Assert.False(string.IsNullOrEmpty(parsed.Error));
            }
        }, iter: Mutations.Iterations);
    }
}
