using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text.Json;
using Router.Protocol;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.EndToEnd;

/// <summary>Device ingest (binary, JSON, HTTP) to consumer WebSockets (json, binary, jpeg) on a real Kestrel.</summary>
[Collection(RouterHostCollection.Name)]
public sealed class StreamingEndToEndTests(RouterHost host)
{
    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>Pushes real frames at 20 fps until <paramref name="until"/> completes; returns frames by timestamp.</summary>
    private static async Task<Dictionary<long, byte[]>> PushWhileAsync(Func<int, long, byte[], Task> send, Task until)
    {
        var sent = new Dictionary<long, byte[]>();
        using var clock = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        var deadline = WaitDeadline.In(TimeSpan.FromSeconds(30));
        for (var i = 0; !until.IsCompleted && !deadline.Passed; i++)
        {
            var ts = Now + i; // strictly increasing even within one millisecond
            var jpeg = TestFrames.Vtest[i % TestFrames.Vtest.Count];
            lock (sent) sent[ts] = jpeg;
            await send(i, ts, jpeg);
            await clock.WaitForNextTickAsync();
        }
        await until;
        return sent;
    }

    private static async Task<List<(long Ts, byte[] Jpeg, int W, int H, string Camera)>> ReceiveJsonFramesAsync(WsClient consumer, int count)
    {
        var frames = new List<(long, byte[], int, int, string)>();
        while (frames.Count < count)
        {
            var m = await consumer.ReceiveUntilAsync(x => x.Type == WebSocketMessageType.Text && x.Json.GetProperty("type").GetString() == "video_frame");
            Assert.Null(m.CloseStatus);
            var j = m.Json;
            frames.Add((j.GetProperty("timestamp").GetInt64(), j.GetProperty("frame").GetBytesFromBase64(), j.GetProperty("width").GetInt32(),
                j.GetProperty("height").GetInt32(), j.GetProperty("camera_id").GetString()!));
        }
        return frames;
    }

    [Fact]
    public async Task Binary_device_frames_reach_a_json_consumer_byte_identical_in_order()
    {
        await using var device = await WsClient.DeviceAsync(host, RouterHost.AcmeKey, "e2e-binary");
        var (consumer, init) = await WsClient.ConsumerAsync(host, RouterHost.AcmeKey, "e2e-binary", "?camera_id=front");
        await using var _ = consumer;
        Assert.Equal("init", init.GetProperty("type").GetString());

        var receiving = ReceiveJsonFramesAsync(consumer, 10);
        var sent = await PushWhileAsync((_, ts, jpeg) => device.SendBinaryAsync(WsClient.BinaryFrame("ignored", "front", jpeg, ts)), receiving);
        var received = await receiving;
        long last = 0;
        foreach (var (ts, jpeg, w, h, camera) in received)
        {
            Assert.Equal(sent[ts], jpeg);
            Assert.Equal((TestFrames.Width, TestFrames.Height, "front"), (w, h, camera));
            Assert.True(ts > last, "frames arrive in timestamp order");
            last = ts;
        }
    }

    [Fact]
    public async Task Json_device_frames_reach_a_binary_consumer_byte_identical()
    {
        await using var device = await WsClient.DeviceAsync(host, RouterHost.AcmeKey, "e2e-json");
        var (consumer, _) = await WsClient.ConsumerAsync(host, RouterHost.AcmeKey, "e2e-json", "?camera_id=rear&format=binary");
        await using var c = consumer;
        async Task<List<(BinaryFrameHeader, byte[])>> Receive()
        {
            var list = new List<(BinaryFrameHeader, byte[])>();
            while (list.Count < 5)
            {
                var m = await consumer.ReceiveUntilAsync(x => x.Type == WebSocketMessageType.Binary);
                Assert.True(BinaryFrameCodec.TryDecode(m.Data, out var header, out var offset, out var error), error);
                list.Add((header, m.Data[offset..]));
            }
            return list;
        }
        var receiving = Receive();
        var sent = await PushWhileAsync((_, ts, jpeg) => device.SendJsonAsync(new
        {
            type = "video_frame", camera_id = "rear", frame = Convert.ToBase64String(jpeg), width = 0, height = 0, timestamp = ts,
        }), receiving);
        foreach (var (header, jpeg) in await receiving)
        {
            Assert.Equal(("e2e-json", "rear", TestFrames.Width, TestFrames.Height), (header.SourceId, header.CameraId, header.Width, header.Height));
            Assert.Equal(sent[header.TimestampMs], jpeg);
        }
    }

    [Fact]
    public async Task Http_ingest_reaches_a_bare_jpeg_consumer_and_answers_202_with_the_frame_facts()
    {
        var (consumer, _) = await WsClient.ConsumerAsync(host, RouterHost.AcmeKey, "e2e-http", "?camera_id=dock&format=jpeg");
        await using var c = consumer;
        using var http = host.Http(RouterHost.AcmeKey);
        var receiving = consumer.ReceiveUntilAsync(x => x.Type == WebSocketMessageType.Binary);
        var sent = await PushWhileAsync(async (_, ts, jpeg) =>
        {
            using var body = new ByteArrayContent(jpeg);
            body.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
            using var response = await http.PostAsync($"/v1/sources/e2e-http/video/frames?camera_id=dock&timestamp={ts}", body);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(("dock", TestFrames.Width, TestFrames.Height, jpeg.Length, false),
                (json.GetProperty("camera_id").GetString(), json.GetProperty("width").GetInt32(), json.GetProperty("height").GetInt32(),
                 json.GetProperty("bytes").GetInt32(), json.GetProperty("reencoded").GetBoolean()));
        }, receiving);
        var frame = await receiving;
        Assert.Contains(sent.Values, jpeg => jpeg.AsSpan().SequenceEqual(frame.Data));
    }

    [Fact]
    public async Task Http_ingest_answers_400_401_403_413_415()
    {
        async Task<HttpStatusCode> Post(string? key, byte[] body, string contentType = "image/jpeg", string source = "e2e-http-errors")
        {
            using var http = host.Http(key);
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
            using var response = await http.PostAsync($"/v1/sources/{source}/video/frames?camera_id=x", content);
            return response.StatusCode;
        }
        var jpeg = TestFrames.Vtest[0];
        Assert.Equal(HttpStatusCode.BadRequest, await Post(RouterHost.AcmeKey, "definitely not a jpeg"u8.ToArray()));
        Assert.Equal(HttpStatusCode.BadRequest, await Post(RouterHost.AcmeKey, jpeg, source: "Bad_Source"));
        Assert.Equal(HttpStatusCode.Unauthorized, await Post(null, jpeg));
        Assert.Equal(HttpStatusCode.Unauthorized, await Post("wrong-key", jpeg));
        Assert.Equal(HttpStatusCode.Forbidden, await Post(RouterHost.AcmeViewOnlyKey, jpeg));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, await Post(RouterHost.AcmeKey, new byte[1_048_577]));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, await Post(RouterHost.AcmeKey, jpeg, "image/png"));
        Assert.Equal(HttpStatusCode.Accepted, await Post(RouterHost.AcmeKey, jpeg));
    }

    [Fact]
    public async Task Consumer_without_auth_in_the_window_bad_key_or_missing_view_scope_is_closed_4001()
    {
        await using (var silent = await WsClient.ConnectAsync(new Uri(host.WsBase, "/v1/sources/any/video/stream")))
        {
            var close = await silent.ReceiveCloseAsync(TimeSpan.FromSeconds(10));
            Assert.Equal((4001, "unauthorized"), (close.CloseStatus, close.CloseReason));
        }
        foreach (var key in new[] { "wrong-key", RouterHost.AcmeIngestOnlyKey })
        {
            await using var consumer = await WsClient.ConnectAsync(new Uri(host.WsBase, "/v1/sources/any/video/stream"));
            await consumer.SendJsonAsync(new { type = "auth", api_key = key });
            var close = await consumer.ReceiveCloseAsync();
            Assert.Equal(4001, close.CloseStatus);
        }
    }

    [Fact]
    public async Task Consumer_timeout_closes_4008_stream_timeout()
    {
        var (consumer, _) = await WsClient.ConsumerAsync(host, RouterHost.AcmeKey, "e2e-timeout", "?timeout=1");
        await using var c = consumer;
        var close = await consumer.ReceiveCloseAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((4008, "stream timeout"), (close.CloseStatus, close.CloseReason));
    }

    [Fact]
    public async Task No_frame_crosses_tenants_even_with_the_same_source_and_camera_ids()
    {
        await using var acmeDevice = await WsClient.DeviceAsync(host, RouterHost.AcmeKey, "shared-name");
        var (globexConsumer, globexInit) = await WsClient.ConsumerAsync(host, RouterHost.GlobexKey, "shared-name", "?camera_id=cam");
        var (acmeConsumer, _) = await WsClient.ConsumerAsync(host, RouterHost.AcmeKey, "shared-name", "?camera_id=cam");
        await using var g = globexConsumer;
        await using var a = acmeConsumer;
        Assert.DoesNotContain("shared-name", globexInit.ToString());

        var acmeGot = acmeConsumer.ReceiveUntilAsync(x => x.Type == WebSocketMessageType.Text && x.Text.Contains("video_frame"));
        await PushWhileAsync((_, ts, jpeg) => acmeDevice.SendBinaryAsync(WsClient.BinaryFrame("shared-name", "cam", jpeg, ts)), acmeGot);
        // Acme's consumer got a frame; globex's, subscribed to the same names, gets nothing.
        var globexGot = globexConsumer.ReceiveAsync(TimeSpan.FromSeconds(2));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => globexGot);
        using var globexHttp = host.Http(RouterHost.GlobexKey);
        Assert.DoesNotContain("shared-name", await globexHttp.GetStringAsync("/v1/sources"));
        Assert.Equal(HttpStatusCode.NotFound, (await globexHttp.GetAsync("/v1/sources/shared-name/cameras/cam/snapshot.jpg")).StatusCode);
    }

    [Fact]
    public async Task Without_camera_id_a_consumer_gets_every_camera_including_ones_that_come_online_later()
    {
        await using var device = await WsClient.DeviceAsync(host, RouterHost.AcmeKey, "e2e-all");
        var (consumer, _) = await WsClient.ConsumerAsync(host, RouterHost.AcmeKey, "e2e-all");
        await using var c = consumer;
        var seen = new HashSet<string>();
        var both = Task.Run(async () =>
        {
            while (seen.Count < 2)
            {
                var m = await consumer.ReceiveUntilAsync(x => x.Type == WebSocketMessageType.Text && x.Text.Contains("video_frame"), TimeSpan.FromSeconds(25));
                Assert.Null(m.CloseStatus);
                lock (seen) seen.Add(m.Json.GetProperty("camera_id").GetString()!);
            }
        });
        // Camera "b" only starts after the consumer connected.
        await PushWhileAsync(async (i, ts, jpeg) =>
        {
            await device.SendBinaryAsync(WsClient.BinaryFrame("e2e-all", "a", jpeg, ts));
            if (i > 10) await device.SendBinaryAsync(WsClient.BinaryFrame("e2e-all", "b", jpeg, ts));
        }, both);
        Assert.Equal(["a", "b"], seen.Order());
    }

    [Fact]
    public async Task Device_with_a_bad_key_gets_an_error_and_close_1008()
    {
        await using var device = await WsClient.ConnectAsync(new Uri(host.WsBase, "/ws/device"));
        await device.SendJsonAsync(new { type = "device_auth", api_key = "nope", source_id = "x", platform = "linux", agent_version = "1" });
        var error = await device.ReceiveAsync();
        Assert.Equal("error", error.Json.GetProperty("type").GetString());
        Assert.Equal(1008, (await device.ReceiveCloseAsync()).CloseStatus);
    }

    [Fact]
    public async Task Device_without_auth_in_the_window_is_closed_1008()
    {
        await using var device = await WsClient.ConnectAsync(new Uri(host.WsBase, "/ws/device"));
        Assert.Equal(1008, (await device.ReceiveCloseAsync(TimeSpan.FromSeconds(10))).CloseStatus);
    }

    [Fact]
    public async Task Device_non_jpeg_frame_gets_an_error_and_the_connection_stays_open_but_over_1_MiB_closes_1009()
    {
        await using var device = await WsClient.DeviceAsync(host, RouterHost.AcmeKey, "e2e-bad-frames");
        await device.SendBinaryAsync(WsClient.BinaryFrame("e2e-bad-frames", "c", "GIF89a not a jpeg"u8.ToArray(), Now));
        var error = (await device.ReceiveAsync()).Json;
        Assert.Equal("error", error.GetProperty("type").GetString());
        Assert.Contains("JPEG", error.GetProperty("message").GetString(), StringComparison.OrdinalIgnoreCase);
        await device.SendTextAsync("{\"type\":\"heartbeat\",\"ts\":1}");
        await device.SendTextAsync("{\"type\":\"something_new\"}");
        // Still open: a good frame is accepted (visible as a snapshot).
        await device.SendBinaryAsync(WsClient.BinaryFrame("e2e-bad-frames", "c", TestFrames.Vtest[3], Now));
        using var http = host.Http(RouterHost.AcmeKey);
        await AwaitAsync(async () => (await http.GetAsync("/v1/sources/e2e-bad-frames/cameras/c/snapshot.jpg")).StatusCode == HttpStatusCode.OK);
        var snapshot = await http.GetByteArrayAsync("/v1/sources/e2e-bad-frames/cameras/c/snapshot.jpg");
        Assert.Equal(TestFrames.Vtest[3], snapshot);

        await device.SendBinaryAsync(new byte[new Router.Gateway.GatewayOptions().MaxDeviceMessageBytes + 1]);
        Assert.Equal(1009, (await device.ReceiveCloseAsync()).CloseStatus);
    }

    [Fact]
    public async Task Rest_lists_online_sources_with_fps_and_resolution()
    {
        await using var device = await WsClient.DeviceAsync(host, RouterHost.AcmeKey, "e2e-rest");
        using var http = host.Http(RouterHost.AcmeKey);
        using var cts = new CancellationTokenSource();
        var pushing = PushWhileAsync((_, ts, jpeg) => device.SendBinaryAsync(WsClient.BinaryFrame("e2e-rest", "cam-1", jpeg, ts)), Task.Delay(-1, cts.Token).ContinueWith(_ => { }));
        try
        {
            await AwaitAsync(async () =>
            {
                var doc = JsonDocument.Parse(await http.GetStringAsync("/v1/sources")).RootElement;
                var source = doc.GetProperty("sources").EnumerateArray().FirstOrDefault(s => s.GetProperty("source_id").GetString() == "e2e-rest");
                if (source.ValueKind == JsonValueKind.Undefined) return false;
                var camera = source.GetProperty("cameras")[0];
                return source.GetProperty("platform").GetString() == "linux-test" && camera.GetProperty("camera_id").GetString() == "cam-1" &&
                       camera.GetProperty("width").GetInt32() == 768 && camera.GetProperty("fps").GetDouble() > 0 && camera.GetProperty("last_frame_ms").GetInt64() > 0;
            });
        }
        finally
        {
            cts.Cancel();
            await pushing;
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Http().GetAsync("/v1/sources")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.Http(RouterHost.AcmeIngestOnlyKey).GetAsync("/v1/sources")).StatusCode);
    }

    [Fact]
    public async Task The_demo_camera_plays_real_footage_when_watched()
    {
        var (consumer, init) = await WsClient.ConsumerAsync(host, RouterHost.DemoKey, "lobby", "?camera_id=main&format=binary");
        await using var c = consumer;
        Assert.Contains("lobby", init.ToString());
        var m = await consumer.ReceiveUntilAsync(x => x.Type == WebSocketMessageType.Binary, TimeSpan.FromSeconds(20));
        Assert.True(BinaryFrameCodec.TryDecode(m.Data, out var header, out _, out _));
        Assert.Equal(("lobby", "main", 768, 576), (header.SourceId, header.CameraId, header.Width, header.Height));
    }

    private static async Task AwaitAsync(Func<Task<bool>> condition)
    {
        var deadline = WaitDeadline.In(TimeSpan.FromSeconds(15));
        while (!await condition())
        {
            if (deadline.Passed) throw new TimeoutException("condition not met in 15 s");
            await Task.Delay(100);
        }
    }
}
