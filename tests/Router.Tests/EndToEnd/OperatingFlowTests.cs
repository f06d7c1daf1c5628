using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Router.Gateway.Security;
using Router.Tests.Cluster;
using Router.Tests.Quotas;
using Router.Tests.Security;
using Xunit;
using Xunit.Abstractions;
using static Router.Tests.Security.ViewerTokenClients;

namespace Router.Tests.EndToEnd;

/// <summary>
/// Operating Router for a tenant, as one story on real processes (1 <c>--role=node</c> + 2 <c>--role=gateway</c>,
/// <see cref="LocalCluster"/>): the gateways read a keys file laid out like a mounted Kubernetes Secret
/// (<see cref="SecretVolume"/>) holding acme's ingest key, acme's view key and the token signing keys; acme may hold
/// <see cref="MaxConsumers"/> consumer connections and <see cref="MaxCameras"/> online cameras. A device pushes real
/// JPEG frames of two sources; a backend mints viewer tokens; browser-like consumers view with them; the signing key
/// rotates; the view key is revoked; the quotas refuse the next consumer and camera on either gateway; <c>/metrics</c>
/// shows acme's counters moving.
/// </summary>
[Trait("Category", "Cluster")]
[Collection(ClusterFaultCollection.Name)]
public sealed class OperatingFlowTests(ITestOutputHelper output)
{
    private const string IngestKey = "flow-acme-ingest-key-0123456789";
    private const string ViewKey = "flow-acme-view-key-0123456789";
    private const int MaxConsumers = 3;
    private const int MaxCameras = 2;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>How long a viewer that reads in the background until its close may take over the steps in between.</summary>
    private static readonly TimeSpan ReadingDeadline = TimeSpan.FromSeconds(120);

    private static string KeysFile(bool withViewKey, params (string Kid, string Seed, bool Current)[] signing) => JsonSerializer.Serialize(new
    {
        Router = new
        {
            ApiKeys = new[] { (Key: IngestKey, Scope: "ingest"), (Key: ViewKey, Scope: "view") }
                .Where(k => withViewKey || k.Key != ViewKey)
                .Select(k => new { Sha256 = ApiKeyStore.HashKey(k.Key), Tenant = "acme", Scopes = new[] { k.Scope } }).ToArray(),
            Tokens = new { SigningKeys = signing.Select(k => new { k.Kid, Key = SigningKey(k.Seed), k.Current }).ToArray() },
        },
    });

    [Fact]
    public async Task A_tenant_mints_views_rotates_revokes_hits_its_quotas_and_sees_it_in_metrics_across_two_gateways()
    {
        var story = Stopwatch.StartNew();
        using var secret = new SecretVolume(KeysFile(true, ("k1", "flow-k1", true)));
        await using var cluster = await LocalCluster.StartAsync(nodes: 1,
            extraArgs:
            [
                $"--Router:Quotas:Tenants:acme:MaxConsumerConnections={MaxConsumers}",
                $"--Router:Quotas:Tenants:acme:MaxOnlineCameras={MaxCameras}",
            ],
            gatewayArgs:
            [
                $"--Router:ApiKeysFile={secret.FilePath}",
                "--Router:Tokens:ClockSkew=00:00:00",
                // Polling with keys and tokens that are not valid (yet or any more) counts as failed authentications.
                "--Router:Gateway:Limits:AuthFailureBurst=10000",
                "--Router:Gateway:Limits:AuthFailuresPerMinute=10000",
            ]);
        var (a, b) = (cluster.Gateways[0], cluster.Gateways[1]);
        var node = cluster.Nodes[0];
        output.WriteLine($"cluster ready after {story.Elapsed.TotalSeconds:F1} s");
        var before = await ScrapeAllAsync(cluster);
        var open = new List<WsClient>();
        try
        {
            // A device pushes real JPEG frames of two sources through gateway A with the ingest key of the file.
            await using var robot1 = await Pusher.StartAsync(a, IngestKey, "robot-01", "front");
            await using var robot2 = await Pusher.StartAsync(a, IngestKey, "robot-02", "front");
            await WaitListedAsync(b, ViewKey, "robot-01");
            await WaitListedAsync(b, ViewKey, "robot-02");

            // 1. The backend mints a 5 s token for robot-01 only (on gateway A, with the view key).
            var (status, minted) = await MintAsync(a, ViewKey, new { source_ids = new[] { "robot-01" }, ttl_seconds = 5 });
            Assert.Equal(HttpStatusCode.OK, status);
            var shortToken = minted.GetProperty("token").GetString()!;
            var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(minted.GetProperty("expires_at").GetInt64());
            Assert.Equal("k1", KidOf(shortToken));

            // 2. A browser-like client views robot-01 with it on gateway B (frames arrive), and is refused robot-02.
            var (viewer, init) = await ConsumerAsync(b, shortToken, "robot-01");
            await using (viewer)
            {
                Assert.Null(init.CloseStatus);
                Assert.Equal(["robot-01"], init.Json.GetProperty("online_sources").EnumerateArray().Select(s => s.GetProperty("source_id").GetString()).ToList());
                var frame = (await NextFrameAsync(viewer)).Json;
                Assert.Equal("robot-01", frame.GetProperty("source_id").GetString());
                var (other, refused) = await ConsumerAsync(b, shortToken, "robot-02");
                await using (other)
                {
                    Assert.Equal(4001, refused.CloseStatus);
                    Assert.Equal("token does not allow source_id robot-02", refused.CloseReason);
                }

                // 3. The token expires: a new connection is refused, the open one keeps receiving.
                var expiry = await PollAsync(async () =>
                {
                    var (late, first) = await ConsumerAsync(b, shortToken, "robot-01");
                    await late.DisposeAsync();
                    if (first.CloseStatus is null) return false;
                    Assert.Equal(4001, first.CloseStatus);
                    Assert.Equal("unauthorized: token expired", first.CloseReason);
                    return true;
                }, "the short token was never refused");
                var afterExpiry = DateTimeOffset.UtcNow - expiresAt;
                output.WriteLine($"expired token refused {afterExpiry.TotalMilliseconds:F0} ms after expires_at (polled {expiry.TotalMilliseconds:F0} ms)");
                Assert.True(afterExpiry >= TimeSpan.Zero, "refused before its expiry");
                Assert.Equal("robot-01", (await NextFrameAsync(viewer)).Json.GetProperty("source_id").GetString());
                Assert.Equal(WebSocketState.Open, viewer.State);
            }

            // 4. Rotation: a longer-lived token of k1, then k2 becomes the current key (k1 kept): k1's token still
            // validates on both gateways, and new tokens are signed with k2 on both.
            var oldToken = await TokenAsync(a, ViewKey, new { source_ids = new[] { "robot-01" }, ttl_seconds = 600 });
            Assert.Equal("k1", KidOf(oldToken));
            var (oldViewer, oldInit) = await ConsumerAsync(b, oldToken, "robot-01");
            open.Add(oldViewer);
            Assert.Null(oldInit.CloseStatus);
            var rotation = Stopwatch.StartNew();
            await secret.UpdateUntilAsync(KeysFile(true, ("k1", "flow-k1", false), ("k2", "flow-k2", true)), async () =>
                KidOf(await TokenAsync(a, ViewKey)) == "k2" && KidOf(await TokenAsync(b, ViewKey)) == "k2");
            output.WriteLine($"k2 signing on both gateways {rotation.ElapsedMilliseconds} ms after the file changed");
            foreach (var g in new[] { a, b })
            {
                using var http = g.Http(oldToken);
                Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/sources")).StatusCode);
                var (again, first) = await ConsumerAsync(g, oldToken, "robot-01");
                await again.DisposeAsync();
                Assert.Null(first.CloseStatus);
            }
            Assert.Equal("robot-01", (await NextFrameAsync(oldViewer)).Json.GetProperty("source_id").GetString());
            // From here on the old viewer reads like a browser does (frames until the close): a consumer that stops
            // reading fills its socket, and a send stuck for SendDrainTimeout is cut, so it would see a reset, not 4001.
            var oldViewerClosed = oldViewer.ReceiveCloseAsync(ReadingDeadline);
            var newToken = await TokenAsync(b, ViewKey, new { source_ids = new[] { "robot-01" }, ttl_seconds = 600 });

            // 5. k1 removed: its token is refused on both gateways and its open stream is closed with the reason.
            var removal = Stopwatch.StartNew();
            await secret.UpdateUntilAsync(KeysFile(true, ("k2", "flow-k2", true)), () => RefusedOnAsync(oldToken, a, b));
            var refusedAfter = removal.Elapsed;
            var closed = await oldViewerClosed.WaitAsync(Deadline);
            output.WriteLine($"k1's token refused on both gateways {refusedAfter.TotalMilliseconds:F0} ms after the file changed, its open stream closed {removal.ElapsedMilliseconds} ms after");
            Assert.Equal(4001, closed.CloseStatus);
            Assert.Equal(ViewerTokens.RevokedReason, closed.CloseReason);
            foreach (var g in new[] { a, b })
            {
                var (late, first) = await ConsumerAsync(g, oldToken, "robot-01");
                await late.DisposeAsync();
                Assert.Equal(4001, first.CloseStatus);
                Assert.Equal("unauthorized: token signing key unknown (kid k1)", first.CloseReason);
            }

            // 6. Quotas: acme's 3 consumers across the two gateways (one with the k2 token, two with the view key)...
            var (tokenViewer, tokenInit) = await ConsumerAsync(b, newToken, "robot-01");
            open.Add(tokenViewer);
            Assert.Null(tokenInit.CloseStatus);
            var (keyViewerA, _) = await WsClient.ConsumerAsync(a, ViewKey, "robot-02");
            open.Add(keyViewerA);
            var (keyViewerB, _) = await WsClient.ConsumerAsync(b, ViewKey, "robot-02");
            open.Add(keyViewerB);
            // Both read frames from now until their close, as a browser would (see the old viewer above).
            var keyViewersClosed = new[] { keyViewerA, keyViewerB }.Select(v => v.ReceiveCloseAsync(ReadingDeadline)).ToArray();
            var converged = await PollAsync(async () =>
                await QuotaClusterTests.UsageAsync(a, "acme", "consumer_connections") == MaxConsumers
                && await QuotaClusterTests.UsageAsync(b, "acme", "consumer_connections") == MaxConsumers, "the consumer counts did not converge");
            output.WriteLine($"{MaxConsumers} acme consumers seen by both gateways after {converged.TotalMilliseconds:F0} ms");
            // ...the next one is refused on either gateway, with a token or a key.
            foreach (var (g, viaToken) in new[] { (a, true), (b, false) })
            {
                await using var extra = await WsClient.ConnectAsync(new Uri(g.WsBase, "/v1/sources/robot-01/video/stream"));
                await extra.SendJsonAsync(viaToken ? new { type = "auth", token = newToken } : (object)new { type = "auth", api_key = ViewKey });
                var refused = await extra.ReceiveCloseAsync(Deadline);
                Assert.Equal(4029, refused.CloseStatus);
                Assert.Equal($"quota exceeded: consumer_connections of tenant acme (limit {MaxConsumers})", refused.CloseReason);
            }
            // The 2 online cameras are acme's limit: a third camera is refused through either gateway.
            await PollAsync(async () => await QuotaClusterTests.UsageAsync(node, "acme", "online_cameras") == MaxCameras, "the node never counted 2 online cameras");
            foreach (var g in new[] { a, b })
            {
                using var third = await QuotaEndToEndTests.PushAsync(g, IngestKey, "robot-01", "rear");
                Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
                Assert.Equal("online_cameras", JsonDocument.Parse(await third.Content.ReadAsStringAsync()).RootElement.GetProperty("quota").GetString());
                Assert.NotNull(third.Headers.RetryAfter);
            }

            // 7. The view key is removed from the file: it is refused on both gateways and its open consumer sockets on
            // both are closed with the reason; the token it minted stays valid (tokens are stateless, docs/api.md).
            var revocation = Stopwatch.StartNew();
            await secret.UpdateUntilAsync(KeysFile(false, ("k2", "flow-k2", true)), () => RefusedOnAsync(ViewKey, a, b));
            var keyRefusedAfter = revocation.Elapsed;
            foreach (var closing in keyViewersClosed)
            {
                var close = await closing.WaitAsync(Deadline);
                Assert.Equal(4001, close.CloseStatus);
                Assert.Equal(ApiKeyStore.RevokedReason, close.CloseReason);
            }
            output.WriteLine($"view key refused on both gateways {keyRefusedAfter.TotalMilliseconds:F0} ms after the file changed, its sockets closed {revocation.ElapsedMilliseconds} ms after");
            Assert.True(revocation.Elapsed < keyRefusedAfter + TimeSpan.FromSeconds(10), "the revoked key's sockets were closed more than 10 s after it was refused");
            Assert.Equal("robot-01", (await NextFrameAsync(tokenViewer)).Json.GetProperty("source_id").GetString());
            Assert.Equal(WebSocketState.Open, tokenViewer.State);
            using (var http = a.Http(IngestKey)) Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        }
        finally
        {
            foreach (var c in open) await c.DisposeAsync();
        }

        // 8. /metrics: acme's counters moved on the gateways (frames sent, tokens minted, quota refusals; auth failures
        // carry no tenant) and on the node (frames ingested, the camera refusals).
        var after = await ScrapeAllAsync(cluster);
        var acme = ("tenant", "acme");
        var moved = new (string Process, string Metric, (string, string)[] Labels)[]
        {
            ("gateway-b", "router_router_consumer_frames_sent", [acme]),
            ("gateway-a", "router_router_tokens_minted", [acme]),
            ("gateway-b", "router_router_tokens_minted", [acme]),
            ("gateway-b", "router_router_auth_failures", []),
            ("gateway-a", "router_router_quota_refused", [acme, ("quota", "consumer_connections")]),
            ("gateway-b", "router_router_quota_refused", [acme, ("quota", "consumer_connections")]),
            ("node-0", "router_router_ingest_frames", [acme]),
            ("node-0", "router_router_ingest_bytes", [acme]),
        };
        foreach (var (process, metric, labels) in moved)
        {
            var (from, to) = (PrometheusText.Sum(before[process], metric, labels), PrometheusText.Sum(after[process], metric, labels));
            output.WriteLine($"{process} {metric}{{{string.Join(',', labels.Select(l => $"{l.Item1}=\"{l.Item2}\""))}}}: {from} -> {to}");
            Assert.True(to > from, $"{process} {metric} did not move ({from} -> {to})");
        }
        var cameraRefusals = after.Sum(p => PrometheusText.Sum(p.Value, "router_router_quota_refused", acme, ("quota", "online_cameras")))
                             - before.Sum(p => PrometheusText.Sum(p.Value, "router_router_quota_refused", acme, ("quota", "online_cameras")));
        output.WriteLine($"acme online_cameras refusals counted across the processes: {cameraRefusals}");
        Assert.True(cameraRefusals >= 2, $"acme's camera refusals counted: {cameraRefusals}");
        output.WriteLine($"story took {story.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>Polls <paramref name="done"/> every 200 ms until true; fails after <see cref="Deadline"/>. Returns how long it took.</summary>
    private static async Task<TimeSpan> PollAsync(Func<Task<bool>> done, string failure)
    {
        var clock = Stopwatch.StartNew();
        while (!await done())
        {
            Assert.True(clock.Elapsed < Deadline, $"{failure} within {Deadline.TotalSeconds} s");
            await Task.Delay(200);
        }
        return clock.Elapsed;
    }

    /// <summary>True when every one of <paramref name="gateways"/> answers <c>GET /v1/sources</c> with <paramref name="credential"/> (a key or a token) with 401.</summary>
    private static async Task<bool> RefusedOnAsync(string credential, params LocalCluster.Member[] gateways)
    {
        foreach (var g in gateways)
        {
            using var http = g.Http(credential);
            if ((await http.GetAsync("/v1/sources")).StatusCode != HttpStatusCode.Unauthorized) return false;
        }
        return true;
    }

    /// <summary>Every process's <c>/metrics</c> text, by process name.</summary>
    private static async Task<Dictionary<string, string>> ScrapeAllAsync(LocalCluster cluster)
    {
        var texts = new Dictionary<string, string>();
        foreach (var m in cluster.Nodes.Concat(cluster.Gateways))
        {
            using var http = m.Http();
            texts[m.Name] = await http.GetStringAsync("/metrics");
        }
        return texts;
    }
}
