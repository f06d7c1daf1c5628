using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Router.Gateway.Security;
using Router.Tests.EndToEnd;
using Router.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Router.Tests.Cluster;

/// <summary>
/// Tenant quotas held across the cluster, on real processes: 2 <c>--role=node</c> + 2 <c>--role=gateway</c>
/// (<see cref="LocalCluster"/>). Tenant acme may hold 3 consumer connections, initech 2 online cameras, globex
/// 2.5 frames' worth of ingest bytes/s; each test uses its own tenant and shows another tenant unaffected. Each process's
/// <c>router_router_quota_usage</c> gauge shows when the counts have converged (the stated tolerance: a few seconds).
/// </summary>
[Trait("Category", "Cluster")]
[Collection(ClusterFaultCollection.Name)]
public sealed class QuotaClusterTests(QuotaClusterTests.Fixture cluster, ITestOutputHelper output) : IClassFixture<QuotaClusterTests.Fixture>
{
    private const string InitechKey = "cluster-initech-key";

    /// <summary>The stated tolerance: counts converge across members within this (docs/deploy.md, "Tenant quotas").</summary>
    private static readonly TimeSpan Tolerance = TimeSpan.FromSeconds(5);

    private static readonly byte[] Frame = TestFrames.Vtest[0];

    public sealed class Fixture : IAsyncLifetime
    {
        public LocalCluster Cluster { get; private set; } = null!;

        public async Task InitializeAsync() => Cluster = await LocalCluster.StartAsync(nodes: 2, extraArgs:
        [
            "--Router:Quotas:Tenants:acme:MaxConsumerConnections=3",
            "--Router:Quotas:Tenants:initech:MaxOnlineCameras=2",
            $"--Router:Quotas:Tenants:globex:MaxIngestBytesPerSecond={Frame.Length * 5 / 2}",
            $"--Router:ApiKeys:2:Sha256={ApiKeyStore.HashKey(InitechKey)}",
            "--Router:ApiKeys:2:Tenant=initech",
            "--Router:ApiKeys:2:Scopes:0=ingest",
            "--Router:ApiKeys:2:Scopes:1=view",
        ]);

        public async Task DisposeAsync() => await Cluster.DisposeAsync();
    }

    private static Uri Ws(LocalCluster.Member m, string path) => new($"ws://127.0.0.1:{m.HttpPort}{path}");

    private static async Task<WsMessage> ConnectConsumerAsync(LocalCluster.Member gateway, string key)
    {
        var consumer = await WsClient.ConnectAsync(Ws(gateway, "/v1/sources/robot/video/stream"));
        await consumer.SendJsonAsync(new { type = "auth", api_key = key });
        var first = await consumer.ReceiveAsync(TimeSpan.FromSeconds(10));
        if (first.CloseStatus is not null) await consumer.DisposeAsync();
        else Open.Add(consumer);
        return first;
    }

    private static readonly List<WsClient> Open = [];

    internal static async Task<double> UsageAsync(LocalCluster.Member member, string tenant, string quota)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var text = await http.GetStringAsync($"http://127.0.0.1:{member.HttpPort}/metrics");
        return PrometheusText.Sum(text, "router_router_quota_usage", ("tenant", tenant), ("quota", quota));
    }

    /// <summary>Waits until every one of <paramref name="members"/> sees <paramref name="expected"/>; returns how long that took.</summary>
    private async Task<TimeSpan> ConvergeAsync(IEnumerable<LocalCluster.Member> members, string tenant, string quota, Func<double, bool> expected, string what,
        TimeSpan? more = null)
    {
        var clock = Stopwatch.StartNew();
        foreach (var m in members)
        {
            while (!expected(await UsageAsync(m, tenant, quota)))
            {
                Assert.True(clock.Elapsed < Tolerance + (more ?? TimeSpan.Zero), $"{m.Name} still sees {tenant} {quota} = {await UsageAsync(m, tenant, quota)} after {clock.Elapsed.TotalSeconds:F1} s ({what})");
                await Task.Delay(100);
            }
        }
        output.WriteLine($"{what}: every member agreed after {clock.Elapsed.TotalMilliseconds:F0} ms");
        return clock.Elapsed;
    }

    private static async Task<HttpResponseMessage> PushAsync(LocalCluster.Member gateway, string key, string source, string camera)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var content = new ByteArrayContent(Frame);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        return await http.PostAsync($"http://127.0.0.1:{gateway.HttpPort}/v1/sources/{source}/video/frames?camera_id={camera}", content);
    }

    private static async Task<string?> QuotaOfAsync(HttpResponseMessage response) =>
        response.StatusCode == HttpStatusCode.TooManyRequests
            ? JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("quota").GetString()
            : null;

    [Fact]
    public async Task Three_consumer_connections_across_two_gateways_refuse_the_fourth_on_either_and_a_closed_one_frees_a_slot()
    {
        var (g1, g2) = (cluster.Cluster.Gateways[0], cluster.Cluster.Gateways[1]);
        try
        {
            Assert.Null((await ConnectConsumerAsync(g1, LocalCluster.AcmeKey)).CloseStatus);
            Assert.Null((await ConnectConsumerAsync(g1, LocalCluster.AcmeKey)).CloseStatus);
            Assert.Null((await ConnectConsumerAsync(g2, LocalCluster.AcmeKey)).CloseStatus);
            await ConvergeAsync([g1, g2], "acme", "consumer_connections", v => v == 3, "3 acme consumers");

            foreach (var g in new[] { g1, g2 })
            {
                var refused = await ConnectConsumerAsync(g, LocalCluster.AcmeKey);
                Assert.Equal(4029, refused.CloseStatus);
                Assert.Equal("quota exceeded: consumer_connections of tenant acme (limit 3)", refused.CloseReason);
            }
            // globex has no consumer quota.
            Assert.Null((await ConnectConsumerAsync(g1, LocalCluster.GlobexKey)).CloseStatus);
            Assert.Null((await ConnectConsumerAsync(g2, LocalCluster.GlobexKey)).CloseStatus);

            // Closing one of gateway 1's frees a slot on gateway 2.
            var first = Open[0];
            Open.RemoveAt(0);
            await first.DisposeAsync();
            await ConvergeAsync([g2], "acme", "consumer_connections", v => v == 2, "an acme consumer closed");
            Assert.Null((await ConnectConsumerAsync(g2, LocalCluster.AcmeKey)).CloseStatus);
            await ConvergeAsync([g1], "acme", "consumer_connections", v => v == 3, "the freed slot taken on the other gateway");
            Assert.Equal(4029, (await ConnectConsumerAsync(g1, LocalCluster.AcmeKey)).CloseStatus);
        }
        finally
        {
            foreach (var c in Open) await c.DisposeAsync();
            Open.Clear();
        }
    }

    [Fact]
    public async Task A_crashed_gateways_consumer_connections_stop_counting_once_it_is_removed_from_the_cluster()
    {
        var (g1, g2) = (cluster.Cluster.Gateways[0], cluster.Cluster.Gateways[1]);
        try
        {
            Assert.Null((await ConnectConsumerAsync(g1, LocalCluster.AcmeKey)).CloseStatus);
            Assert.Null((await ConnectConsumerAsync(g2, LocalCluster.AcmeKey)).CloseStatus);
            Assert.Null((await ConnectConsumerAsync(g2, LocalCluster.AcmeKey)).CloseStatus);
            await ConvergeAsync([g1, g2], "acme", "consumer_connections", v => v == 3, "3 acme consumers");
            Assert.Equal(4029, (await ConnectConsumerAsync(g1, LocalCluster.AcmeKey)).CloseStatus);

            // kill -9 of gateway 2: its two connections stay counted until the cluster removes it (failure detection
            // ~5 s + the test's split-brain stable-after 2 s + removal ~1 s), then its entries are dropped.
            g2.Process.Signal("KILL");
            Assert.True(await g2.Process.WaitForExitAsync(TimeSpan.FromSeconds(10)));
            await ConvergeAsync([g1], "acme", "consumer_connections", v => v == 1, "gateway 2 removed", TimeSpan.FromSeconds(25));
            Assert.Null((await ConnectConsumerAsync(g1, LocalCluster.AcmeKey)).CloseStatus);
            Assert.Null((await ConnectConsumerAsync(g1, LocalCluster.AcmeKey)).CloseStatus);
        }
        finally
        {
            foreach (var c in Open) await c.DisposeAsync();
            Open.Clear();
            if (g2.Process.HasExited) await cluster.Cluster.RestartAsync(g2, TimeSpan.FromSeconds(60));
        }
    }

    [Fact]
    public async Task Two_online_cameras_on_different_gateways_refuse_further_cameras_on_every_node()
    {
        var (g1, g2) = (cluster.Cluster.Gateways[0], cluster.Cluster.Gateways[1]);
        using var stop = new CancellationTokenSource();
        var accepted = new int[2];
        // cam-1 through gateway 1 and cam-2 through gateway 2 stay online (a frame every 500 ms; offline after 3 s without).
        var keepOnline = Task.WhenAll(new[] { (g1, "cam-1", 0), (g2, "cam-2", 1) }.Select(async t =>
        {
            while (!stop.IsCancellationRequested)
            {
                using (var r = await PushAsync(t.Item1, InitechKey, "initech-src", t.Item2))
                    if (r.StatusCode == HttpStatusCode.Accepted) Interlocked.Increment(ref accepted[t.Item3]);
                try { await Task.Delay(500, stop.Token); } catch (OperationCanceledException) { }
            }
        }));
        try
        {
            await ConvergeAsync(cluster.Cluster.Nodes, "initech", "online_cameras", v => v == 2, "2 initech cameras online");
            Assert.True(accepted[0] > 0 && accepted[1] > 0);
            // Cameras 3–8 land on either node (by shard): each is refused, through either gateway.
            for (var i = 3; i <= 8; i++)
            {
                using var refused = await PushAsync(i % 2 == 0 ? g1 : g2, InitechKey, "initech-src", $"cam-{i}");
                Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
                Assert.Equal("online_cameras", await QuotaOfAsync(refused));
                Assert.NotNull(refused.Headers.RetryAfter);
            }
            // acme has no camera quota.
            for (var i = 3; i <= 5; i++)
                Assert.Equal(HttpStatusCode.Accepted, (await PushAsync(g2, LocalCluster.AcmeKey, "acme-src", $"cam-{i}")).StatusCode);
        }
        finally
        {
            await stop.CancelAsync();
            await keepOnline;
        }
        // cam-1 and cam-2 go offline: a new camera is let in within the tolerance after OfflineAfter (3 s) and the
        // camera's status tick (1 s).
        await ConvergeAsync(cluster.Cluster.Nodes, "initech", "online_cameras", v => v == 0, "initech cameras offline", TimeSpan.FromSeconds(4));
        Assert.Equal(HttpStatusCode.Accepted, (await PushAsync(g1, InitechKey, "initech-src", "cam-9")).StatusCode);
    }

    [Fact]
    public async Task An_ingest_byte_rate_used_on_one_gateway_refuses_frames_on_the_other()
    {
        var (g1, g2) = (cluster.Cluster.Gateways[0], cluster.Cluster.Gateways[1]);
        using var stop = new CancellationTokenSource();
        // Gateway 1 pushes as much as globex may (a frame every 50 ms, the frames over the quota refused): its last
        // second holds 2 of the 2.5 frames' worth of bytes globex may push per second.
        var firstAccepted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pushing = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using (var r = await PushAsync(g1, LocalCluster.GlobexKey, "globex-src", "cam"))
                    if (r.StatusCode == HttpStatusCode.Accepted) firstAccepted.TrySetResult();
                try { await Task.Delay(50, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        try
        {
            await firstAccepted.Task.WaitAsync(TimeSpan.FromSeconds(20)); // the camera entity exists (its shard is allocated)
            await ConvergeAsync([g2], "globex", "ingest_bytes_per_second", v => v >= 1.5 * Frame.Length, "globex's rate on gateway 1 seen by gateway 2");
            // A frame through gateway 2 would take globex over its rate: refused (retried within the tolerance, as the
            // rate published by gateway 1 moves with its window).
            var clock = Stopwatch.StartNew();
            while (true)
            {
                using var response = await PushAsync(g2, LocalCluster.GlobexKey, "globex-src", "cam-2");
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    Assert.Equal("ingest_bytes_per_second", await QuotaOfAsync(response));
                    Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
                    break;
                }
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                Assert.True(clock.Elapsed < Tolerance, "gateway 2 never refused a frame over globex's rate");
                await Task.Delay(300);
            }
            // acme has no byte quota.
            for (var i = 0; i < 5; i++)
                Assert.Equal(HttpStatusCode.Accepted, (await PushAsync(g2, LocalCluster.AcmeKey, "acme-bytes", "cam")).StatusCode);
        }
        finally
        {
            await stop.CancelAsync();
            await pushing;
        }
        // Gateway 1 stops: its rate falls to zero and gateway 2 takes frames again.
        await ConvergeAsync([g2], "globex", "ingest_bytes_per_second", v => v == 0, "globex idle");
        Assert.Equal(HttpStatusCode.Accepted, (await PushAsync(g2, LocalCluster.GlobexKey, "globex-src", "cam-2")).StatusCode);
    }
}
