using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenCvSharp;
using Router.Cli.FrameSources;
using Router.Gateway.Ingest;
using Router.Protocol;
using Router.Tests.Gateway;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.EndToEnd;

/// <summary>
/// A Router of its own for raw ingest: pixel limit 1,000,000 (the 768×576 test frames pass), raw message limit
/// 3,000,000 bytes, one encoding slot (so a test can make the gateway busy by holding it).
/// </summary>
public sealed class RawIngestHost : IAsyncLifetime
{
    public const int MaxPixels = 1_000_000;
    public const int MaxRawBytes = 3_000_000;

    public RouterHost Host { get; } = new([
        $"--Router:Camera:SizePolicy:MaxPixels={MaxPixels}",
        $"--Router:Gateway:RawIngest:MaxMessageBytes={MaxRawBytes}",
        "--Router:Gateway:RawIngest:EncodeConcurrency=1",
        "--Router:Gateway:RawIngest:JpegQuality=90",
    ]);

    internal RawFrameEncoder Encoder => Host.Services.GetRequiredService<RawFrameEncoder>();

    public Task InitializeAsync() => Host.InitializeAsync();

    public Task DisposeAsync() => Host.DisposeAsync();
}

/// <summary>Raw frames over real Kestrel (HTTP and the device WebSocket) reach consumers as JPEGs of the original picture.</summary>
public sealed class RawIngestTests(RawIngestHost fixture) : IClassFixture<RawIngestHost>
{
    private RouterHost Host => fixture.Host;

    private static long _clock = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>Strictly increasing timestamps (ms) across the tests of this class.</summary>
    private static long NextTimestamp() => Interlocked.Increment(ref _clock);

    private static HttpContent RawBody(byte[] pixels)
    {
        var content = new ByteArrayContent(pixels);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    private static string RawQuery(RawFrameLayout layout, string camera, long ts, bool upper = false)
    {
        var name = RawPixelFormats.Name(layout.Format)!;
        return $"camera_id={camera}&format={(upper ? name.ToUpperInvariant() : name)}&width={layout.Width}&height={layout.Height}" +
               (layout.IsPadded ? $"&stride={layout.Stride}" : "") + $"&timestamp={ts}";
    }

    /// <summary>Sends with <paramref name="send"/> every 100 ms until the consumer receives a binary message; returns it.</summary>
    private static async Task<WsMessage> PushUntilReceivedAsync(WsClient consumer, Func<Task> send)
    {
        var receiving = consumer.ReceiveUntilAsync(m => m.Type == WebSocketMessageType.Binary, TimeSpan.FromSeconds(30));
        while (!receiving.IsCompleted)
        {
            await send();
            await Task.WhenAny(receiving, Task.Delay(100));
        }
        var message = await receiving;
        Assert.Null(message.CloseStatus);
        return message;
    }

    private static void AssertCloseTo(Mat original, byte[] jpeg)
    {
        using var decoded = Cv2.ImDecode(jpeg, ImreadModes.Color);
        Assert.Equal((TestFrames.Width, TestFrames.Height), (decoded.Width, decoded.Height));
        var difference = RawFrameEncoderTests.MeanDifference(original, decoded);
        Assert.True(difference < 6, $"mean difference {difference:0.00}");
    }

    [Theory]
    [InlineData(RawPixelFormat.I420, 0)]
    [InlineData(RawPixelFormat.Nv12, 0)]
    [InlineData(RawPixelFormat.Rgba, 0)]
    [InlineData(RawPixelFormat.Bgra, 0)]
    [InlineData(RawPixelFormat.Rgb24, 0)]
    [InlineData(RawPixelFormat.Bgr24, 0)]
    [InlineData(RawPixelFormat.I420, 1024)]
    public async Task Http_raw_frames_reach_a_consumer_as_a_jpeg_close_to_the_original(RawPixelFormat format, int stride)
    {
        var name = RawPixelFormats.Name(format)!;
        var camera = $"http-{name}-{stride}";
        using var encoded = new RouterCounter("router.raw.encoded", ("tenant", "acme"), ("format", name));
        using var original = RawFrameEncoderTests.VtestFrame(3);
        var (layout, pixels) = RawPixels.FromBgr(original, format, stride);
        var (consumer, _) = await WsClient.ConsumerAsync(Host, RouterHost.AcmeKey, "raw-http", $"?camera_id={camera}&format=jpeg");
        await using var c = consumer;
        using var http = Host.Http(RouterHost.AcmeKey);

        var frame = await PushUntilReceivedAsync(consumer, async () =>
        {
            using var body = RawBody(pixels);
            using var response = await http.PostAsync($"/v1/sources/raw-http/video/frames?{RawQuery(layout, camera, NextTimestamp(), upper: true)}", body);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{response.StatusCode}: {text}");
            var json = JsonDocument.Parse(text).RootElement;
            Assert.Equal((camera, TestFrames.Width, TestFrames.Height, false),
                (json.GetProperty("camera_id").GetString(), json.GetProperty("width").GetInt32(), json.GetProperty("height").GetInt32(),
                 json.GetProperty("reencoded").GetBoolean()));
            Assert.InRange(json.GetProperty("bytes").GetInt32(), 1000, pixels.Length / 2); // the JPEG's size, not the pixels'
        });
        AssertCloseTo(original, frame.Data);
        Assert.True(encoded.Total >= 1, "router.raw.encoded counted the frame");
    }

    [Theory]
    [InlineData(RawPixelFormat.I420, 0)]
    [InlineData(RawPixelFormat.Nv12, 0)]
    [InlineData(RawPixelFormat.Rgba, 0)]
    [InlineData(RawPixelFormat.Bgra, 0)]
    [InlineData(RawPixelFormat.Rgb24, 0)]
    [InlineData(RawPixelFormat.Bgr24, 0)]
    [InlineData(RawPixelFormat.Rgba, 3136)]
    public async Task Device_websocket_raw_frames_reach_a_consumer_as_a_jpeg_close_to_the_original(RawPixelFormat format, int stride)
    {
        var camera = $"ws-{RawPixelFormats.Name(format)}-{stride}";
        using var original = RawFrameEncoderTests.VtestFrame(5);
        var (layout, pixels) = RawPixels.FromBgr(original, format, stride);
        await using var device = await WsClient.DeviceAsync(Host, RouterHost.AcmeKey, "raw-ws");
        var (consumer, _) = await WsClient.ConsumerAsync(Host, RouterHost.AcmeKey, "raw-ws", $"?camera_id={camera}&format=binary");
        await using var c = consumer;

        var message = await PushUntilReceivedAsync(consumer,
            () => device.SendBinaryAsync(RawFrameCodec.Encode("raw-ws", camera, layout, NextTimestamp(), pixels)));
        Assert.True(BinaryFrameCodec.TryDecode(message.Data, out var header, out var offset, out var error), error);
        Assert.Equal(("raw-ws", camera, TestFrames.Width, TestFrames.Height), (header.SourceId, header.CameraId, header.Width, header.Height));
        AssertCloseTo(original, message.Data[offset..]);
    }

    [Fact]
    public async Task Http_refuses_a_wrong_length_bad_parameters_the_pixel_limit_and_the_raw_size_limit()
    {
        using var http = Host.Http(RouterHost.AcmeKey);
        using var original = RawFrameEncoderTests.VtestFrame();
        var (layout, pixels) = RawPixels.FromBgr(original, RawPixelFormat.Rgba);
        async Task<(HttpStatusCode, string)> Post(string query, byte[] body)
        {
            using var content = RawBody(body);
            using var response = await http.PostAsync($"/v1/sources/raw-errors/video/frames?{query}", content);
            var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            return (response.StatusCode, json.TryGetProperty("error", out var e) ? e.GetString()! : json.ToString());
        }

        var (status, error) = await Post(RawQuery(layout, "c", 0), pixels[..^1]);
        Assert.Equal((HttpStatusCode.BadRequest, "raw rgba frame 768×576 needs exactly 1769472 bytes of pixels, got 1769471"), (status, error));
        (status, error) = await Post("format=yuv&width=768&height=576", pixels);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("i420, nv12, rgba, bgra, rgb24, bgr24", error);
        (status, error) = await Post("format=rgba&width=768", pixels);
        Assert.Equal((HttpStatusCode.BadRequest, "application/octet-stream needs width and height parameters: integers, in pixels"), (status, error));
        (status, error) = await Post("format=i420&width=767&height=576", pixels);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("must be even", error);
        (status, error) = await Post("format=rgba&width=768&height=576&stride=100", pixels);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("below the row's 3072 bytes", error);
        (status, error) = await Post("format=rgba&width=65500&height=65500", [1, 2, 3]);
        Assert.Equal(HttpStatusCode.BadRequest, status); // 17 G bytes: refused as a layout before the pixel limit
        Assert.Contains("over 2147483647", error);
        // Over the pixel limit: refused before the body is looked at.
        (status, error) = await Post("format=i420&width=1200&height=1000", [1, 2, 3]);
        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, $"raw frame 1200×1000 is 1200000 pixels, over the limit of {RawIngestHost.MaxPixels} pixels"), (status, error));
        // Under the pixel limit but over the raw size limit (999×1000 RGBA = 3,996,000 bytes).
        (status, error) = await Post("format=rgba&width=999&height=1000", [1, 2, 3]);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains($"over the raw limit of {RawIngestHost.MaxRawBytes} bytes", error);

        // The endpoint still takes a good frame.
        (status, _) = await Post(RawQuery(layout, "c", 0), pixels);
        Assert.Equal(HttpStatusCode.Accepted, status);
    }

    [Fact]
    public async Task Device_websocket_refuses_a_wrong_length_and_the_pixel_limit_with_an_error_reply_and_stays_open()
    {
        await using var device = await WsClient.DeviceAsync(Host, RouterHost.AcmeKey, "raw-ws-errors");
        using var original = RawFrameEncoderTests.VtestFrame();
        var (layout, pixels) = RawPixels.FromBgr(original, RawPixelFormat.I420);
        var message = RawFrameCodec.Encode("raw-ws-errors", "c", layout, NextTimestamp(), pixels);

        await device.SendBinaryAsync([]); // an empty binary message: an error reply, not a broken connection
        var reply = await device.ReceiveAsync();
        Assert.Equal("binary message type must be 0x01 (JPEG video frame) or 0x02 (raw video frame)", reply.Json.GetProperty("message").GetString());
        await device.SendBinaryAsync([RawFrameCodec.FrameType]); // type only
        reply = await device.ReceiveAsync();
        Assert.Equal("raw frame header is truncated (source_id/camera_id)", reply.Json.GetProperty("message").GetString());

        await device.SendBinaryAsync(message[..^7]);
        reply = await device.ReceiveAsync();
        Assert.Equal("raw i420 frame 768×576 needs exactly 663552 bytes of pixels, got 663545", reply.Json.GetProperty("message").GetString());

        Assert.True(RawFrameLayout.TryCreate(RawPixelFormat.I420, 1200, 1000, 0, out var big, out _));
        await device.SendBinaryAsync(RawFrameCodec.Encode("raw-ws-errors", "c", big, NextTimestamp(), new byte[big.ByteCount]));
        reply = await device.ReceiveAsync();
        Assert.Equal($"frame rejected (TooManyPixels): raw frame 1200×1000 is 1200000 pixels, over the limit of {RawIngestHost.MaxPixels} pixels",
            reply.Json.GetProperty("message").GetString());

        // Still open: a good frame is taken.
        var (consumer, _) = await WsClient.ConsumerAsync(Host, RouterHost.AcmeKey, "raw-ws-errors", "?camera_id=c&format=jpeg");
        await using var c = consumer;
        var frame = await PushUntilReceivedAsync(consumer,
            () => device.SendBinaryAsync(RawFrameCodec.Encode("raw-ws-errors", "c", layout, NextTimestamp(), pixels)));
        AssertCloseTo(original, frame.Data);
    }

    [Fact]
    public async Task A_raw_message_over_its_limit_closes_1009_and_jpeg_messages_keep_their_own_limit()
    {
        await using (var device = await WsClient.DeviceAsync(Host, RouterHost.AcmeKey, "raw-ws-big"))
        {
            Assert.True(RawFrameLayout.TryCreate(RawPixelFormat.Rgba, 800, 1000, 0, out var big, out _)); // 3.2 MB
            await device.SendBinaryAsync(RawFrameCodec.Encode("raw-ws-big", "c", big, 1, new byte[big.ByteCount]));
            var close = await device.ReceiveCloseAsync();
            Assert.Equal((1009, $"raw frame message over {RawIngestHost.MaxRawBytes} bytes"), (close.CloseStatus, close.CloseReason));
        }
        await using (var device = await WsClient.DeviceAsync(Host, RouterHost.AcmeKey, "raw-ws-big"))
        {
            // A 2 MB JPEG-type message: under the raw limit, over MaxDeviceMessageBytes.
            await device.SendBinaryAsync(WsClient.BinaryFrame("raw-ws-big", "c", new byte[2_000_000], 1));
            var close = await device.ReceiveCloseAsync();
            Assert.Equal((1009, "message over 1049600 bytes"), (close.CloseStatus, close.CloseReason));
        }
    }

    [Fact]
    public async Task Device_websocket_under_overload_loses_its_own_older_raw_frames_and_the_newest_arrives()
    {
        using var replaced = new RouterCounter("router.raw.dropped", ("tenant", "acme"), ("reason", "replaced"));
        using var original = RawFrameEncoderTests.VtestFrame(7);
        var (layout, pixels) = RawPixels.FromBgr(original, RawPixelFormat.Rgba);
        await using var device = await WsClient.DeviceAsync(Host, RouterHost.AcmeKey, "raw-overload");
        var (consumer, _) = await WsClient.ConsumerAsync(Host, RouterHost.AcmeKey, "raw-overload", "?camera_id=c&format=binary");
        await using var c = consumer;

        var timestamps = new List<long>();
        using (await fixture.Encoder.AcquireEncodeSlotAsync()) // the gateway's only encoding slot is busy
        {
            for (var i = 0; i < 10; i++)
            {
                var ts = NextTimestamp();
                timestamps.Add(ts);
                await device.SendBinaryAsync(RawFrameCodec.Encode("raw-overload", "c", layout, ts, pixels));
            }
            // The first frame waits for the slot, the second waits behind it, the 8 between were replaced.
            await RawFrameEncoderTests.AwaitAsync(() => replaced.Total >= 8, $"8 raw frames replaced (counted {replaced.Total})");
        }
        var newest = await consumer.ReceiveUntilAsync(m => m.Type == WebSocketMessageType.Binary &&
            BinaryFrameCodec.TryReadTimestamp(m.Data, out var ts) && ts == timestamps[^1], TimeSpan.FromSeconds(30));
        Assert.Null(newest.CloseStatus);
        Assert.True(BinaryFrameCodec.TryDecode(newest.Data, out _, out var offset, out _));
        AssertCloseTo(original, newest.Data[offset..]);

        // The device hears about it with its next message.
        await device.SendTextAsync("{\"type\":\"heartbeat\"}");
        var warning = await device.ReceiveUntilAsync(m => m.Type == WebSocketMessageType.Text && m.Text.Contains("frames_dropped"));
        Assert.True(warning.Json.GetProperty("dropped").GetInt64() >= 1);
    }

    [Fact]
    public async Task Http_under_overload_answers_the_replaced_request_409_and_encodes_the_newest()
    {
        using var http = Host.Http(RouterHost.AcmeKey);
        using var original = RawFrameEncoderTests.VtestFrame(9);
        var (layout, pixels) = RawPixels.FromBgr(original, RawPixelFormat.Bgr24);
        async Task<(HttpStatusCode, string)> Post()
        {
            using var content = RawBody(pixels);
            using var response = await http.PostAsync($"/v1/sources/raw-http-overload/video/frames?{RawQuery(layout, "c", NextTimestamp())}", content);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        var encoder = fixture.Encoder;
        Task<(HttpStatusCode, string)> older, newer;
        using (await encoder.AcquireEncodeSlotAsync())
        {
            older = Post();
            await RawFrameEncoderTests.AwaitAsync(() => encoder.QueuedAtGateway == 1, "the first request waits for the encoding slot");
            newer = Post();
            var (status, body) = await older.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(HttpStatusCode.Conflict, status);
            Assert.Contains("replaced by a newer raw frame of the same camera", body);
            Assert.False(newer.IsCompleted);
        }
        var (newStatus, newBody) = await newer.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(newStatus == HttpStatusCode.Accepted, newBody);
    }

    [Theory]
    [InlineData(RawPixelFormat.I420)]
    [InlineData(RawPixelFormat.Rgba)]
    [InlineData(RawPixelFormat.Bgr24)]
    public async Task Router_push_raw_sends_video_frames_that_a_consumer_receives_as_jpegs_of_the_video(RawPixelFormat format)
    {
        var camera = $"cli-{RawPixelFormats.Name(format)}";
        var (consumer, _) = await WsClient.ConsumerAsync(Host, RouterHost.AcmeKey, "raw-cli", $"?camera_id={camera}&format=jpeg");
        await using var c = consumer;
        var receiving = consumer.ReceiveUntilAsync(m => m.Type == WebSocketMessageType.Binary, TimeSpan.FromSeconds(30));
        var settings = new Router.Cli.Push.PushSettings([new Uri(Host.WsBase, "/ws/device")], RouterHost.AcmeKey, "raw-cli", camera, 20, 40,
            TimeSpan.FromSeconds(25), Router.Cli.Push.PushFormat.Binary);
        var pusher = new Router.Cli.Push.DevicePusher(settings, TextWriter.Null, TextWriter.Null);
        int exit;
        using (var source = new VideoFileFrameSource(Router.Tests.Cli.CliTestMedia.VideoPath, loop: true, quality: 85, raw: format))
            exit = await pusher.RunAsync(source, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(40));
        Assert.Equal(0, exit);
        Assert.Equal(0, pusher.Stats.Rejected);
        var frame = await receiving;
        Assert.Null(frame.CloseStatus);

        // The JPEG is one of the video's first 40 frames, seen through the gateway's encoder.
        using var decoded = Cv2.ImDecode(frame.Data, ImreadModes.Color);
        var video = Router.Tests.Media.TestMedia.ReadFrames(Router.Tests.Cli.CliTestMedia.VideoPath, 40);
        try
        {
            var closest = video.Min(v => RawFrameEncoderTests.MeanDifference(v, decoded));
            Assert.True(closest < 6, $"closest video frame differs by {closest:0.00}");
        }
        finally
        {
            foreach (var v in video) v.Dispose();
        }
    }
}
