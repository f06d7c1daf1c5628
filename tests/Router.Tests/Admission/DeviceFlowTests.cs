using System.Net.WebSockets;
using System.Text.Json;
using Router.Protocol;
using Router.Tests.EndToEnd;
using Router.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Router.Tests.Admission;

/// <summary>Device socket admission on a real Kestrel: message rate, per-camera newest-wins flow, camera limit.</summary>
public sealed class DeviceFlowTests(ITestOutputHelper output)
{
    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>Reads the device's text replies in the background.</summary>
    private sealed class Replies
    {
        private readonly List<JsonElement> _all = [];

        public Replies(WsClient device) => Task.Run(async () =>
        {
            while (true)
            {
                WsMessage m;
                try { m = await device.ReceiveAsync(TimeSpan.FromSeconds(60)); }
                catch (Exception) { return; }
                if (m.CloseStatus is not null) return;
                if (m.Type == WebSocketMessageType.Text) lock (_all) _all.Add(m.Json.Clone());
            }
        });

        public List<JsonElement> WithCode(string code)
        {
            lock (_all) return _all.Where(j => j.TryGetProperty("code", out var c) && c.GetString() == code).ToList();
        }

        public List<JsonElement> All { get { lock (_all) return _all.ToList(); } }

        public async Task<List<JsonElement>> AwaitAsync(string code, Func<List<JsonElement>, bool> done)
        {
            var deadline = WaitDeadline.In(TimeSpan.FromSeconds(10));
            while (!done(WithCode(code)))
            {
                if (deadline.Passed) throw new TimeoutException($"replies with code {code}: {string.Join(", ", All)}");
                await Task.Delay(20);
            }
            return WithCode(code);
        }
    }

    [Fact]
    public async Task Messages_over_the_rate_are_answered_with_a_few_rate_limited_errors_that_count_them_all()
    {
        await using var own = await OwnHost.StartAsync("--Router:Gateway:Limits:DeviceMessagesPerSecond=20");
        await using var device = await WsClient.DeviceAsync(own.Host, RouterHost.AcmeKey, "flood");
        var replies = new Replies(device);
        const int flood = 300;
        for (var i = 0; i < flood; i++) await device.SendJsonAsync(new { type = "heartbeat" });
        // The first excess message is answered at once; later ones are counted and reported about once a second (with
        // the next message), so a slow heartbeat after the flood flushes the count.
        await replies.AwaitAsync("rate_limited", _ => true);
        // Slow heartbeats (within the rate) for 2.5 s: each report due is sent with the next message.
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        for (var i = 0; i < 10; i++)
        {
            await device.SendJsonAsync(new { type = "heartbeat" });
            await tick.WaitForNextTickAsync();
        }
        var errors = replies.WithCode("rate_limited");
        var dropped = errors.Sum(e => e.GetProperty("dropped").GetInt64());
        output.WriteLine($"{flood} messages at a limit of 20/s: {dropped} dropped, reported in {errors.Count} error(s): {errors[0]}");
        Assert.InRange(dropped, flood - 100, flood - 10); // 20 in the bucket, 20/s refilled while the server read the flood (and the first slow heartbeat may still meet an empty bucket)
        Assert.InRange(errors.Count, 1, 5);
        Assert.Equal("error", errors[0].GetProperty("type").GetString());
        Assert.Contains("rate limited", errors[0].GetProperty("message").GetString());
        Assert.Equal(WebSocketState.Open, device.State);
    }

    [Fact]
    public async Task Sixteen_cameras_on_one_socket_each_deliver_their_frames()
    {
        await using var own = await OwnHost.StartAsync();
        const int cameras = 16, rounds = 20;
        var ids = Enumerable.Range(0, cameras).Select(c => $"cam-{c:00}").ToList();
        await using var device = await WsClient.DeviceAsync(own.Host, RouterHost.AcmeKey, "robot-16");
        var replies = new Replies(device);
        var (consumer, _) = await WsClient.ConsumerAsync(own.Host, RouterHost.AcmeKey, "robot-16",
            "?format=binary&" + string.Join("&", ids.Select(id => $"camera_id={id}")));
        await using var c = consumer;
        var received = ids.ToDictionary(id => id, _ => new HashSet<long>());
        var receiving = Task.Run(async () =>
        {
            while (true)
            {
                var m = await consumer.ReceiveAsync(TimeSpan.FromSeconds(15));
                if (m.CloseStatus is not null) return;
                if (m.Type != WebSocketMessageType.Binary || !BinaryFrameCodec.TryDecode(m.Data, out var header, out _, out _)) continue;
                lock (received) received[header.CameraId].Add(header.TimestampMs);
            }
        });
        // Warm-up: one frame per camera, until the consumer has one of each (its subscriptions are live).
        var start = Now;
        foreach (var id in ids) await device.SendBinaryAsync(WsClient.BinaryFrame("ignored", id, TestFrames.Vtest[0], start - 1000));
        var warm = WaitDeadline.In(TimeSpan.FromSeconds(15));
        while (true)
        {
            lock (received) if (received.Values.All(s => s.Count > 0)) break;
            Assert.False(warm.Passed, "warm-up frames did not arrive");
            await Task.Delay(50);
        }
        lock (received) foreach (var set in received.Values) set.Clear();
        // All cameras' frames sent together, 5 times a second (a robot with synchronised cameras).
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        for (var r = 0; r < rounds; r++)
        {
            foreach (var id in ids)
                await device.SendBinaryAsync(WsClient.BinaryFrame("ignored", id, TestFrames.Vtest[r % TestFrames.Vtest.Count], start + r * 200));
            await tick.WaitForNextTickAsync();
        }
        var deadline = WaitDeadline.In(TimeSpan.FromSeconds(10));
        while (!deadline.Passed)
        {
            lock (received) if (received.Values.All(s => s.Contains(start + (rounds - 1) * 200))) break;
            await Task.Delay(50);
        }
        lock (received)
        {
            output.WriteLine(string.Join(" ", received.Select(p => $"{p.Key}:{p.Value.Count}")));
            foreach (var (id, frames) in received)
                Assert.True(frames.Count >= rounds * 95 / 100, $"{id} got {frames.Count} of {rounds} frames");
        }
        Assert.Empty(replies.WithCode("frames_dropped"));
    }

    [Fact]
    public async Task A_burst_on_one_camera_keeps_the_newest_frame_and_warns_the_device_once()
    {
        await using var own = await OwnHost.StartAsync();
        await using var device = await WsClient.DeviceAsync(own.Host, RouterHost.AcmeKey, "burst");
        var replies = new Replies(device);
        var (consumer, _) = await WsClient.ConsumerAsync(own.Host, RouterHost.AcmeKey, "burst", "?camera_id=a&format=binary");
        await using var c = consumer;
        var start = Now;
        const int burst = 40;
        for (var i = 0; i < burst; i++)
            await device.SendBinaryAsync(WsClient.BinaryFrame("ignored", "a", TestFrames.Vtest[i % TestFrames.Vtest.Count], start + i));
        // The newest frame of the burst always arrives (it replaces whatever was waiting).
        var last = await consumer.ReceiveUntilAsync(m => m.Type == WebSocketMessageType.Binary &&
            BinaryFrameCodec.TryDecode(m.Data, out var h, out _, out _) && h.TimestampMs == start + burst - 1);
        Assert.Null(last.CloseStatus);
        // Frames replaced in the burst are reported, once (the next warning comes 5 s later at the earliest).
        await device.SendJsonAsync(new { type = "heartbeat" });
        var warnings = await replies.AwaitAsync("frames_dropped", w => w.Count > 0);
        Assert.Single(warnings);
        Assert.Equal("warning", warnings[0].GetProperty("type").GetString());
        Assert.True(warnings[0].GetProperty("dropped").GetInt64() >= 1);
        Assert.DoesNotContain(replies.All, r => r.GetProperty("type").GetString() == "error");
    }

    [Fact]
    public async Task Frames_of_cameras_beyond_the_limit_get_a_too_many_cameras_error_and_the_others_flow()
    {
        await using var own = await OwnHost.StartAsync("--Router:Gateway:Limits:MaxCamerasPerDevice=4");
        await using var device = await WsClient.DeviceAsync(own.Host, RouterHost.AcmeKey, "many");
        var replies = new Replies(device);
        var (consumer, _) = await WsClient.ConsumerAsync(own.Host, RouterHost.AcmeKey, "many", "?camera_id=c3&format=binary");
        await using var c = consumer;
        var start = Now;
        for (var i = 0; i < 6; i++)
            await device.SendBinaryAsync(WsClient.BinaryFrame("ignored", $"c{i}", TestFrames.Vtest[0], start));
        var errors = await replies.AwaitAsync("too_many_cameras", e => e.Count > 0);
        Assert.Contains("at most 4", errors[0].GetProperty("message").GetString());
        var frame = await consumer.ReceiveUntilAsync(m => m.Type == WebSocketMessageType.Binary);
        Assert.True(BinaryFrameCodec.TryDecode(frame.Data, out var header, out _, out _));
        Assert.Equal("c3", header.CameraId);
    }
}
