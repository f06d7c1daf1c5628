using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.EndToEnd;

/// <summary>
/// <c>/metrics</c> (Prometheus text, prometheus-net) on a real Kestrel: a tenant's counters move when it pushes and
/// views frames, a rejection is counted by reason, the cluster members are there by status, and no camera id (only
/// tenants) appears in it. Counters are process-wide, so the test compares before and after.
/// </summary>
[Collection(RouterHostCollection.Name)]
public sealed class MetricsEndpointTests(RouterHost host)
{
    private const string Source = "metrics-e2e-source";
    private const string Camera = "metrics-e2e-cam";

    private async Task<string> ScrapeAsync()
    {
        using var http = host.Http();
        using var response = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task A_tenants_counters_move_rejections_count_by_reason_and_no_camera_id_appears()
    {
        var before = await ScrapeAsync();
        await using var device = await WsClient.DeviceAsync(host, RouterHost.AcmeKey, Source);
        var (consumer, _) = await WsClient.ConsumerAsync(host, RouterHost.AcmeKey, Source, $"?camera_id={Camera}&format=binary");
        await using var c = consumer;

        // Frames until the consumer has received 5 of them.
        var received = 0;
        var receiving = Task.Run(async () =>
        {
            while (received < 5)
            {
                await consumer.ReceiveUntilAsync(m => m.Type == WebSocketMessageType.Binary);
                received++;
            }
        });
        using (var clock = new PeriodicTimer(TimeSpan.FromMilliseconds(50)))
        {
            var deadline = WaitDeadline.In(TimeSpan.FromSeconds(20));
            for (var i = 0; !receiving.IsCompleted && !deadline.Passed; i++)
            {
                await device.SendBinaryAsync(WsClient.BinaryFrame(Source, Camera, TestFrames.Vtest[i % TestFrames.Vtest.Count],
                    DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + i));
                await clock.WaitForNextTickAsync();
            }
        }
        await receiving;

        // A frame that is not a JPEG: the camera entity rejects it (400, reason NotJpeg).
        using (var http = host.Http(RouterHost.AcmeKey))
        {
            using var body = new ByteArrayContent("definitely not a jpeg"u8.ToArray());
            body.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
            using var response = await http.PostAsync($"/v1/sources/{Source}/video/frames?camera_id={Camera}", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        var acme = ("tenant", "acme");
        // The last sends are counted when they complete: scrape until they are in (15 s deadline).
        var sentBefore = PrometheusText.Sum(before, "router_router_consumer_frames_sent", acme);
        var after = await ScrapeAsync();
        for (var deadline = WaitDeadline.In(TimeSpan.FromSeconds(15));
             PrometheusText.Sum(after, "router_router_consumer_frames_sent", acme) < sentBefore + 5 && !deadline.Passed;)
        {
            await Task.Delay(100);
            after = await ScrapeAsync();
        }
        Assert.True(PrometheusText.Sum(after, "router_router_consumer_frames_sent", acme) >= sentBefore + 5, $"frames sent of tenant acme moved by 5:\n{after}");

        Assert.True(PrometheusText.Sum(after, "router_router_ingest_frames", acme) >= PrometheusText.Sum(before, "router_router_ingest_frames", acme) + 5);
        Assert.True(PrometheusText.Sum(after, "router_router_ingest_bytes", acme) > PrometheusText.Sum(before, "router_router_ingest_bytes", acme) + 5 * 1000);
        Assert.Equal(PrometheusText.Sum(before, "router_router_ingest_rejected", acme, ("reason", "NotJpeg")) + 1,
            PrometheusText.Sum(after, "router_router_ingest_rejected", acme, ("reason", "NotJpeg")));
        Assert.True(PrometheusText.Sum(after, "router_router_consumer_connections", acme) >= 1, "the open consumer is counted");
        Assert.True(PrometheusText.Sum(after, "router_router_camera_entities") >= 1);
        Assert.True(PrometheusText.Sum(after, "router_router_relay_relays") >= 1);
        // The one-member cluster: this member, Up.
        Assert.Equal(1, PrometheusText.Sum(after, "router_cluster_members", ("status", "up")));
        Assert.Equal(0, PrometheusText.Sum(after, "router_cluster_members", ("status", "joining")));
        // Process basics (prometheus-net's DotNetStats).
        Assert.Contains(PrometheusText.Parse(after), s => s.Name == "process_working_set_bytes" && s.Value > 0);
        // Bounded labels: tenants, never a camera or source id.
        Assert.DoesNotContain(Camera, after);
        Assert.DoesNotContain(Source, after);
    }

    [Fact]
    public async Task Readiness_and_liveness_are_health_checks_with_text_answers()
    {
        using var http = host.Http();
        using var ready = await http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready", await ready.Content.ReadAsStringAsync());
        using var live = await http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("ok", await live.Content.ReadAsStringAsync());
        using var gone = await http.GetAsync("/metrics/remote");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }
}
