using System.Text;
using System.Text.Json;
using Router.Protocol;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Protocol;

/// <summary>
/// The encoders of Router.Protocol that the CLI and the benchmark send with, read back by the parsers Router itself
/// uses: what a client builds is what the gateway understands.
/// </summary>
public sealed class WireEncodingTests
{
    [Fact]
    public void Device_auth_round_trips_through_the_gateway_parser()
    {
        var auth = DeviceMessageParser.ParseAuth(PlexusJson.BuildDeviceAuth("plx_k\"1", "robot-01", "router-cli", "2.0"));
        Assert.Equal(new DeviceAuthMessage("device_auth", "plx_k\"1", "robot-01", "router-cli"), auth);

        using var doc = JsonDocument.Parse(PlexusJson.BuildDeviceAuth("k", "robot-01"));
        Assert.False(doc.RootElement.TryGetProperty("platform", out _));
        Assert.False(doc.RootElement.TryGetProperty("agent_version", out _));
    }

    [Fact]
    public void Consumer_auth_round_trips_through_the_gateway_parser()
    {
        Assert.Equal("plx_ключ", ConsumerMessageParser.ParseAuth(PlexusJson.BuildConsumerAuth("plx_ключ")));
        Assert.Null(ConsumerMessageParser.ParseAuth(PlexusJson.BuildDeviceAuth("k", "robot-01")));
    }

    [Fact]
    public void Device_video_frame_round_trips_through_the_gateway_parser()
    {
        var jpeg = TestFrames.Vtest[0];
        var parsed = DeviceMessageParser.ParseText(PlexusJson.BuildDeviceVideoFrame("front/left", jpeg, 768, 576, 1_700_000_000_123));
        Assert.Null(parsed.Error);
        Assert.Equal("front/left", parsed.CameraId);
        Assert.Equal(1_700_000_000_123, parsed.TimestampMs);
        Assert.Equal(jpeg, parsed.Jpeg);
    }

    [Theory]
    [InlineData("robot-01", "camera:0", 1_700_000_000_123L)]
    [InlineData("", "", 0L)]
    [InlineData("r", "камера-255", -5L)]
    public void TryReadTimestamp_agrees_with_TryDecode_and_refuses_truncated_headers(string source, string camera, long timestamp)
    {
        var message = BinaryFrameCodec.Encode(new BinaryFrameHeader(source, camera, 640, 480, timestamp), [0xFF, 0xD8, 0xFF, 0xD9]);
        Assert.True(BinaryFrameCodec.TryDecode(message, out var header, out _, out _));
        Assert.True(BinaryFrameCodec.TryReadTimestamp(message, out var ts));
        Assert.Equal(header.TimestampMs, ts);
        Assert.Equal(timestamp, ts);
        var headerLength = BinaryFrameCodec.HeaderLength(source, camera);
        for (var cut = 0; cut < headerLength; cut++)
            Assert.False(BinaryFrameCodec.TryReadTimestamp(message.AsSpan(0, cut), out _), $"cut at {cut}");
        message[0] = 0x02;
        Assert.False(BinaryFrameCodec.TryReadTimestamp(message, out _));
    }

    [Theory]
    [InlineData(new byte[] { 0xC0, 0x80 })] // an overlong NUL
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // a UTF-16 surrogate encoded as UTF-8 (CESU-8)
    [InlineData(new byte[] { 0x61, 0xFF })] // a byte that never occurs in UTF-8
    [InlineData(new byte[] { 0x61, 0xE2, 0x82 })] // a truncated sequence
    public void TryDecode_refuses_a_camera_id_that_is_not_valid_utf8(byte[] cameraId)
    {
        var valid = BinaryFrameCodec.Encode(new BinaryFrameHeader("robot", new string('x', cameraId.Length), 1, 1, 1), [0xFF, 0xD8]);
        // The camera_id's bytes follow the type byte, source_id's length and bytes, and camera_id's length.
        cameraId.CopyTo(valid.AsSpan(1 + 1 + "robot".Length + 1));

        Assert.False(BinaryFrameCodec.TryDecode(valid, out _, out _, out var error));
        Assert.Equal("binary frame header: source_id/camera_id is not valid UTF-8", error);
        Assert.True(BinaryFrameCodec.TryDecode(BinaryFrameCodec.Encode(new BinaryFrameHeader("robot", "Süd €", 1, 1, 1), [0xFF, 0xD8]), out var ok, out _, out _));
        Assert.Equal("Süd €", ok.CameraId);
    }

    [Fact]
    public void TryReadVideoFrameTimestamp_reads_the_consumer_message_and_refuses_others()
    {
        var message = PlexusJson.BuildVideoFrame("robot-01", "camera:0", TestFrames.Vtest[0], 768, 576, 1_700_000_000_456);
        Assert.True(PlexusJson.TryReadVideoFrameTimestamp(message, out var ts));
        Assert.Equal(1_700_000_000_456, ts);
        Assert.False(PlexusJson.TryReadVideoFrameTimestamp("{\"type\":\"init\",\"online_sources\":[]}"u8, out _));
        Assert.False(PlexusJson.TryReadVideoFrameTimestamp(Encoding.UTF8.GetBytes("{\"type\":\"video_frame\",\"frame\":\"\"}"), out _));
    }

    [Fact]
    public void FindStartOfFrame_points_at_the_sof_marker_the_parser_reads_the_size_from()
    {
        var jpeg = TestFrames.Vtest[0];
        var sof = JpegHeader.FindStartOfFrame(jpeg);
        Assert.Equal(Router.Tests.Media.TestMedia.FindSegment(jpeg, 0xC0), sof);
        Assert.Equal((TestFrames.Height, TestFrames.Width), ((jpeg[sof!.Value + 5] << 8) | jpeg[sof.Value + 6], (jpeg[sof.Value + 7] << 8) | jpeg[sof.Value + 8]));
        Assert.Null(JpegHeader.FindStartOfFrame(jpeg.AsSpan(0, sof.Value)));
        Assert.Null(JpegHeader.FindStartOfFrame("RIFF\0\0\0\0AVI "u8));
    }
}
