using System.Text;
using CsCheck;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using OpenCvSharp;
using Router.Actors.Media;
using Router.Gateway.Ingest;
using Router.Gateway.Streaming;
using Router.Protocol;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Fuzz;

/// <summary>
/// Fuzz properties over the parsers that see untrusted bytes: random and mutated inputs give only the documented error
/// result (false / an error message / no key), never an exception.
/// </summary>
public sealed class ParserFuzzTests
{
    private static readonly Lazy<IReadOnlyList<byte[]>> JpegSeeds = new(() =>
    {
        var seeds = new List<byte[]> { TestFrames.Vtest[0] };
        using var small = new Mat(24, 32, MatType.CV_8UC3, new Scalar(10, 200, 90));
        Cv2.Circle(small, new Point(16, 12), 7, Scalar.White, -1);
        seeds.Add(small.ImEncode(".jpg", new ImageEncodingParam(ImwriteFlags.JpegQuality, 90)));
        seeds.Add(small.ImEncode(".jpg", new ImageEncodingParam(ImwriteFlags.JpegProgressive, 1)));
        using var gray = new Mat(8, 8, MatType.CV_8UC1, new Scalar(128));
        seeds.Add(gray.ImEncode(".jpg"));
        return seeds;
    });

    [Fact]
    public void JpegHeader_never_throws_and_reports_sizes_in_range()
    {
        Mutations.RandomOrMutated(JpegSeeds.Value, 512).Sample(bytes =>
        {
            var ok = JpegHeader.TryParse(bytes, out var info, out var error);
            if (ok)
            {
                Assert.Null(error);
                Assert.InRange(info.Width, 1, 65535);
                Assert.InRange(info.Height, 1, 65535);
            }
            else
            {
                Assert.False(string.IsNullOrEmpty(error));
                Assert.Equal(default, info);
            }
        }, iter: Mutations.Iterations);
    }

    [Fact]
    public void Mutated_jpegs_keep_some_valid_headers_so_the_fuzzer_reaches_past_the_first_check()
    {
        // Guards the generator itself: if every mutated JPEG failed at SOI the property above would test little.
        var rng = new Random(8);
        var parsed = Enumerable.Range(0, 500).Count(i => JpegHeader.TryParse(Mutations.Mutate(JpegSeeds.Value[1], rng), out _, out _));
        Assert.InRange(parsed, 10, 499);
    }

    private static readonly Lazy<IReadOnlyList<byte[]>> BinaryFrameSeeds = new(() =>
    [
        BinaryFrameCodec.Encode(new BinaryFrameHeader("robot-01", "front", 32, 24, 1_763_900_000_123), JpegSeeds.Value[1]),
        BinaryFrameCodec.Encode(new BinaryFrameHeader("", "", 0, 0, 0), [0xFF, 0xD8, 0xFF, 0xD9]),
        BinaryFrameCodec.Encode(new BinaryFrameHeader(new string('s', 255), "kamera-ü/ç:0", -1, int.MaxValue, long.MinValue), []),
    ]);

    [Fact]
    public void BinaryFrameCodec_decode_never_throws()
    {
        Mutations.RandomOrMutated(BinaryFrameSeeds.Value, 64).Sample(bytes =>
        {
            var ok = BinaryFrameCodec.TryDecode(bytes, out var header, out var offset, out var error);
            if (ok)
            {
                Assert.Null(error);
                Assert.InRange(offset, 19, bytes.Length);
                Assert.True(header.Width >= 0 && header.Height >= 0);
                Assert.True(Encoding.UTF8.GetByteCount(header.CameraId) <= 255);
            }
            else
            {
                Assert.False(string.IsNullOrEmpty(error));
            }
        }, iter: Mutations.Iterations);
    }

    [Fact]
    public void BinaryFrameCodec_round_trips_any_header()
    {
        var ids = Gen.String[Gen.Char.AlphaNumeric, 0, 40];
        Gen.Select(ids, ids, Gen.Int.Positive, Gen.Int.Positive, Gen.Long).Sample((source, camera, w, h, ts) =>
        {
            var header = new BinaryFrameHeader(source, camera, w, h, ts);
            var bytes = BinaryFrameCodec.Encode(header, [1, 2, 3]);
            Assert.True(BinaryFrameCodec.TryDecode(bytes, out var decoded, out var offset, out _));
            Assert.Equal(header, decoded);
            Assert.Equal(bytes.Length - 3, offset);
        }, iter: 1000);
    }

    [Fact]
    public void BinaryFrameCodec_rejects_invalid_utf8_ids_instead_of_substituting()
    {
        byte[] message = [0x01, 0x00, 0x02, 0xC3, 0x28, .. new byte[16], 0xFF, 0xD8];
        Assert.False(BinaryFrameCodec.TryDecode(message, out _, out _, out var error));
        Assert.Contains("UTF-8", error);
    }

    /// <summary>Strings that have broken parsers: lone surrogates as escapes, control characters, huge numbers.</summary>
    private static readonly string[] HostileJsonValues =
    [
        "\"\\ud800\"", "\"\\udc00\\ud800\"", "\"abc\\ud83d\"", "\"\\u0000\"", "\"\\uZZZZ\"", "\"\\\"", "\"front\"", "\"camera:0\"", "\"\"",
        "1e400", "-1e400", "1e308", "9.3e18", "-9.3e18", "9223372036854775807", "9223372036854775808", "-0", "0", "1.5",
        "1763900000.123", "1763900000123", "99999999999.9", "123456789012345678901234567890", "true", "null", "[]", "{}",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
        "\"/9j/4AAQ\"", "\"/9j/\"", "\"!!!!\"", "\"AAAA====\"", "\"AA\\u003d\\u003d\"", "\"\\/9j\\/\"",
    ];

    private static readonly string[] DeviceFieldNames = ["type", "frame", "camera_id", "timestamp", "api_key", "source_id", "platform", "width"];

    private static Gen<byte[]> HostileJsonObject(string type) =>
        from fields in Gen.Select(Gen.OneOf(DeviceFieldNames), Gen.OneOf(HostileJsonValues)).List[0, 6]
        from typeValue in Gen.OneOf($"\"{type}\"", "\"video_frame\"", "\"device_auth\"", "\"\\ud800\"", "7", "null")
        select Encoding.UTF8.GetBytes("{\"type\":" + typeValue + string.Concat(fields.Select(f => $",\"{f.Item1}\":{f.Item2}")) + "}");

    private static readonly byte[][] DeviceTextSeeds =
    [
        Encoding.UTF8.GetBytes("""{"type":"video_frame","camera_id":"front","frame":"/9j/2wBDAP/Z","width":768,"height":576,"timestamp":1763900000123}"""),
        Encoding.UTF8.GetBytes("""{"type":"video_frame","frame":"/9j/2wBDAP/Z","timestamp":1763900000.5}"""),
        Encoding.UTF8.GetBytes("""{"type":"device_auth","api_key":"plx_abc","source_id":"robot-01","platform":"linux","agent_version":"0.7.1"}"""),
        Encoding.UTF8.GetBytes("""{"type":"heartbeat"}"""),
        [.. "{\"type\":\"video_frame\",\"camera_id\":\""u8, 0xC3, 0x28, 0xFF, .. "\",\"frame\":\"AA==\"}"u8],
    ];

    [Fact]
    public void Device_text_frames_and_auth_messages_never_throw()
    {
        var gen = Gen.Frequency(
            (2, Mutations.RandomOrMutated(DeviceTextSeeds, 128)),
            (2, HostileJsonObject("video_frame")),
            (1, HostileJsonObject("device_auth")));
        gen.Sample(bytes =>
        {
            var frame = DeviceMessageParser.ParseText(bytes);
            if (frame.Jpeg is not null) Assert.Null(frame.Error);
            if (frame.Error is not null) Assert.Null(frame.Jpeg);
            DeviceMessageParser.ParseAuth(bytes);
            ConsumerMessageParser.ParseAuth(bytes);
            ConsumerMessageParser.ParseAuthToken(bytes);
        }, iter: Mutations.Iterations);
    }

    [Theory]
    [InlineData("""{"type":"video_frame","frame":"/9j/2wBDAP/Z","camera_id":"\ud800"}""", "camera_id")]
    [InlineData("""{"type":"video_frame","frame":"/9j/2wBDAP/Z","camera_id":7}""", "camera_id")]
    [InlineData("""{"type":"video_frame","frame":"/9j/2wBDAP/Z","timestamp":1e400}""", "timestamp")]
    [InlineData("""{"type":"video_frame","frame":"/9j/2wBDAP/Z","timestamp":9.3e18}""", "timestamp")]
    [InlineData("""{"type":"video_frame","frame":"not base64!"}""", "base64")]
    [InlineData("""{"type":"video_frame","frame":"\ud800"}""", "base64")]
    [InlineData("""{"type":"video_frame","frame":"/9j/" """, "not valid JSON")]
    public void Malformed_device_frames_get_an_error_reply(string json, string expected)
    {
        var frame = DeviceMessageParser.ParseText(Encoding.UTF8.GetBytes(json));
        Assert.Null(frame.Jpeg);
        Assert.Contains(expected, frame.Error);
    }

    [Theory]
    [InlineData("""{"timestamp":1763900000.123}""", 1_763_900_000_123L)]
    [InlineData("""{"timestamp":1763900000}""", 1_763_900_000_000L)]
    [InlineData("""{"timestamp":1763900000123}""", 1_763_900_000_123L)]
    [InlineData("""{"timestamp":-5}""", -5L)]
    [InlineData("""{"timestamp":-1e300}""", 0L)]
    [InlineData("""{"timestamp":"soon"}""", 0L)]
    [InlineData("""{"width":1}""", 0L)]
    public void Device_frame_timestamps_are_normalised_to_milliseconds(string fields, long expected)
    {
        var json = """{"type":"video_frame","frame":"/9j/2wBDAP/Z",""" + fields[1..];
        var frame = DeviceMessageParser.ParseText(Encoding.UTF8.GetBytes(json));
        Assert.Null(frame.Error);
        Assert.Equal(expected, frame.TimestampMs);
    }

    [Theory]
    [InlineData("""{"type":"device_auth","api_key":"\ud800","source_id":"robot-01"}""")]
    [InlineData("""{"type":"\ud800","api_key":"k","source_id":"robot-01"}""")]
    [InlineData("""{"type":"device_auth","api_key":"k","source_id":"\udc00"}""")]
    public void Lone_surrogates_in_device_auth_read_as_missing_fields(string json)
    {
        var auth = DeviceMessageParser.ParseAuth(Encoding.UTF8.GetBytes(json));
        Assert.True(auth.Type != "device_auth" || auth.ApiKey is null || auth.SourceId is null);
    }

    [Theory]
    [InlineData("""{"type":"auth","api_key":"\ud800"}""")]
    [InlineData("""{"type":"\ud800","api_key":"k"}""")]
    [InlineData("""{"type":"auth","api_key":["k"]}""")]
    [InlineData("""[{"type":"auth","api_key":"k"}]""")]
    [InlineData("""{"type":"auth","api_key":"k"} {"type":"auth"}""")]
    public void Malformed_consumer_auth_gives_no_key(string json) =>
        Assert.Null(ConsumerMessageParser.ParseAuth(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void A_well_formed_consumer_auth_gives_its_key_even_with_white_space_around() =>
        Assert.Equal("k", ConsumerMessageParser.ParseAuth(" {\"type\":\"auth\",\"api_key\":\"k\"}\r\n "u8));

    private static readonly string[] QueryNames = ["camera_id", "format", "timeout", "max_fps", "timestamp", "x"];

    private static readonly string[] QueryValues =
    [
        "", "0", "1", "10", "0.5", "1,5", "1.5", "1e-17", "1e-300", "0.01", "0.009999", "1000", "1000.0001", "86400", "86400.5",
        "NaN", "nan", "Infinity", "-Infinity", "∞", "1e400", "-1", "+5", " 5 ", "0x10", "1_000", "5%20", "1e3", "1E2", "٣",
        "json", "binary", "jpeg", "front", "camera:0", "%00", "%ZZ", "a%2Fb",
    ];

    [Fact]
    public void Consumer_query_parameters_never_throw_and_yield_sane_intervals()
    {
        var pair = from name in Gen.OneOf(QueryNames) from value in Gen.OneOf(QueryValues) select $"{name}={value}";
        var structured = pair.List[0, 6].Select(pairs => "?" + string.Join('&', pairs));
        var random = Gen.String[Gen.Char["?=&%,.0123456789eE+-NaIifnty _abcdjsonp"], 0, 60];
        Gen.Frequency((3, structured), (1, random)).Sample(queryString =>
        {
            var query = new QueryCollection(QueryHelpers.ParseQuery(queryString));
            var request = ConsumerRequestParser.Parse(query, "robot-01", out var error);
            if (request is null)
            {
                Assert.False(string.IsNullOrEmpty(error));
                return;
            }
            Assert.Null(error);
            Assert.True(request.MaxFps == 0 || request.MaxFps is >= 0.01 and <= 1000, $"max_fps {request.MaxFps}");
            if (request.MaxFps > 0) _ = TimeSpan.FromSeconds(1 / request.MaxFps); // the fan-out's frame interval
            if (request.Timeout is { } timeout) Assert.InRange(timeout, TimeSpan.Zero, TimeSpan.FromDays(1));
        }, iter: Mutations.Iterations);
    }

    [Theory]
    [InlineData("?max_fps=NaN")]
    [InlineData("?max_fps=Infinity")]
    [InlineData("?max_fps=1,5")]
    [InlineData("?max_fps=1e-17")]
    [InlineData("?max_fps=0")]
    [InlineData("?max_fps=5&max_fps=6")]
    [InlineData("?timeout=NaN")]
    [InlineData("?timeout=-Infinity")]
    [InlineData("?timeout=1e400")]
    [InlineData("?timeout=60,5")]
    [InlineData("?timeout=0x10")]
    public void Non_finite_and_non_invariant_numbers_are_rejected(string queryString)
    {
        var request = ConsumerRequestParser.Parse(new QueryCollection(QueryHelpers.ParseQuery(queryString)), "robot-01", out var error);
        Assert.Null(request);
        Assert.NotNull(error);
    }

    [Theory]
    [InlineData("?max_fps=0.01", 0.01)]
    [InlineData("?max_fps=1.5", 1.5)]
    [InlineData("?max_fps=1e3", 1000.0)]
    [InlineData("?max_fps=%201.5%20", 1.5)]
    public void Invariant_decimal_numbers_are_accepted(string queryString, double maxFps)
    {
        var request = ConsumerRequestParser.Parse(new QueryCollection(QueryHelpers.ParseQuery(queryString)), "robot-01", out _);
        Assert.Equal(maxFps, request?.MaxFps);
    }
}
