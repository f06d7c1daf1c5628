using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Router.Tests.Admission;
using Router.Tests.EndToEnd;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Quotas;

/// <summary>
/// Tenant quotas (<c>Router:Quotas</c>) on a real standalone Router (Kestrel, a one-member Akka.NET cluster): each
/// refusal names its quota (close 4029, HTTP 429 with <c>Retry-After</c>, device <c>quota_exceeded</c> error), another
/// tenant is not affected, and <c>/metrics</c> counts the refusals by tenant and quota.
/// </summary>
public sealed class QuotaEndToEndTests
{
    internal static async Task<HttpResponseMessage> PushAsync(IRouterEndpoint host, string key, string source, string camera, byte[]? jpeg = null)
    {
        using var http = host.Http(key);
        var content = new ByteArrayContent(jpeg ?? TestFrames.Vtest[0]);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        return await http.PostAsync($"/v1/sources/{source}/video/frames?camera_id={Uri.EscapeDataString(camera)}", content);
    }

    [Fact]
    public async Task The_consumer_over_the_tenants_quota_is_closed_with_4029_and_a_closed_one_frees_its_slot()
    {
        await using var own = await OwnHost.StartAsync("--Router:Quotas:Tenants:acme:MaxConsumerConnections=2");
        var (a1, _) = await WsClient.ConsumerAsync(own.Host, RouterHost.AcmeKey, "robot");
        var (a2, _) = await WsClient.ConsumerAsync(own.Host, RouterHost.AcmeKey, "robot");
        await using (a2)
        {
            await using (var a3 = await WsClient.ConnectAsync(new Uri(own.Host.WsBase, "/v1/sources/robot/video/stream")))
            {
                await a3.SendJsonAsync(new { type = "auth", api_key = RouterHost.AcmeKey });
                var close = await a3.ReceiveCloseAsync();
                Assert.Equal(4029, close.CloseStatus);
                Assert.Equal("quota exceeded: consumer_connections of tenant acme (limit 2)", close.CloseReason);
            }
            // globex has no quota.
            var globex = new List<WsClient>();
            for (var i = 0; i < 3; i++) globex.Add((await WsClient.ConsumerAsync(own.Host, RouterHost.GlobexKey, "robot")).Client);
            foreach (var g in globex) await g.DisposeAsync();

            await a1.DisposeAsync();
            await AwaitConnectsAsync(own.Host, RouterHost.AcmeKey);
        }
        using var http = own.Host.Http();
        var metrics = await http.GetStringAsync("/metrics");
        Assert.True(PrometheusText.Sum(metrics, "router_router_quota_refused", ("tenant", "acme"), ("quota", "consumer_connections")) >= 1);
    }

    /// <summary>Connects (and closes) a consumer, retrying while the freed slot is not yet given back (the server closes asynchronously).</summary>
    internal static async Task AwaitConnectsAsync(RouterHost host, string key)
    {
        var deadline = WaitDeadline.In(TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                var (again, _) = await WsClient.ConsumerAsync(host, key, "robot");
                await again.DisposeAsync();
                return;
            }
            catch (InvalidOperationException) when (!deadline.Passed) { await Task.Delay(100); }
        }
    }

    [Fact]
    public async Task A_camera_beyond_the_online_camera_quota_gets_429_with_Retry_After_until_another_goes_offline()
    {
        await using var own = await OwnHost.StartAsync("--Router:Quotas:Default:MaxOnlineCameras=2");
        var host = own.Host;
        // cam-a and cam-b stay online while a frame arrives every 300 ms (offline after 3 s without).
        using var stop = new CancellationTokenSource();
        var accepted = new int[2];
        var keepOnline = Task.WhenAll(new[] { "cam-a", "cam-b" }.Select(async (camera, i) =>
        {
            while (!stop.IsCancellationRequested)
            {
                using (var r = await PushAsync(host, RouterHost.AcmeKey, "quota-src", camera))
                    if (r.StatusCode == HttpStatusCode.Accepted) Interlocked.Increment(ref accepted[i]);
                try { await Task.Delay(300, stop.Token); } catch (OperationCanceledException) { }
            }
        }));
        try
        {
            var online = WaitDeadline.In(TimeSpan.FromSeconds(30));
            while (Volatile.Read(ref accepted[0]) == 0 || Volatile.Read(ref accepted[1]) == 0)
            {
                Assert.False(online.Passed, "cam-a and cam-b never came online");
                await Task.Delay(50);
            }
            using (var refused = await PushAsync(host, RouterHost.AcmeKey, "quota-src", "cam-c"))
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
                Assert.Equal("3", refused.Headers.GetValues("Retry-After").Single()); // Router:Camera:OfflineAfter
                var body = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
                Assert.Equal("online_cameras", body.GetProperty("quota").GetString());
                Assert.Equal("quota exceeded: online_cameras of tenant acme (limit 2)", body.GetProperty("error").GetString());
            }
            // globex has its own two.
            Assert.Equal(HttpStatusCode.Accepted, (await PushAsync(host, RouterHost.GlobexKey, "quota-src", "cam-c")).StatusCode);

            // The device WebSocket gets one quota_exceeded error (per second) for the frames of a third camera.
            await using var device = await WsClient.DeviceAsync(host, RouterHost.AcmeKey, "quota-src");
            await device.SendBinaryAsync(WsClient.BinaryFrame("quota-src", "cam-d", TestFrames.Vtest[2], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
            var error = (await device.ReceiveUntilAsync(m => m.Type == System.Net.WebSockets.WebSocketMessageType.Text, TimeSpan.FromSeconds(30))).Json;
            Assert.Equal("error", error.GetProperty("type").GetString());
            Assert.Equal("quota_exceeded", error.GetProperty("code").GetString());
            Assert.Equal("online_cameras", error.GetProperty("quota").GetString());
            Assert.Equal(1, error.GetProperty("dropped").GetInt64());
            Assert.Contains("quota exceeded: online_cameras of tenant acme (limit 2)", error.GetProperty("message").GetString());
        }
        finally
        {
            await stop.CancelAsync();
            await keepOnline;
        }

        // Once cam-a and cam-b go offline, cam-c is let in.
        var deadline = WaitDeadline.In(TimeSpan.FromSeconds(30));
        while (true)
        {
            using var response = await PushAsync(host, RouterHost.AcmeKey, "quota-src", "cam-c");
            if (response.StatusCode == HttpStatusCode.Accepted) break;
            Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
            Assert.False(deadline.Passed, "cam-c was never let in after the others went offline");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task Frames_over_the_ingest_byte_quota_get_429_and_the_rate_recovers_within_a_second()
    {
        var frame = TestFrames.Vtest[0];
        await using var own = await OwnHost.StartAsync($"--Router:Quotas:Tenants:acme:MaxIngestBytesPerSecond={frame.Length * 3 / 2}");
        var host = own.Host;
        Assert.Equal(HttpStatusCode.Accepted, (await PushAsync(host, RouterHost.AcmeKey, "bytes-src", "cam", frame)).StatusCode);
        using (var refused = await PushAsync(host, RouterHost.AcmeKey, "bytes-src", "cam", TestFrames.Vtest[1]))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
            var body = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("ingest_bytes_per_second", body.GetProperty("quota").GetString());
        }
        // globex has no byte quota.
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await PushAsync(host, RouterHost.GlobexKey, "bytes-src", $"cam-{i}", TestFrames.Vtest[i])).StatusCode);
        // After a second the window is empty again.
        var deadline = WaitDeadline.In(TimeSpan.FromSeconds(30));
        while (true)
        {
            using var response = await PushAsync(host, RouterHost.AcmeKey, "bytes-src", "cam", TestFrames.Vtest[2]);
            if (response.StatusCode == HttpStatusCode.Accepted) break;
            Assert.False(deadline.Passed, "the byte quota never let a frame through again");
            await Task.Delay(200);
        }
    }
}
