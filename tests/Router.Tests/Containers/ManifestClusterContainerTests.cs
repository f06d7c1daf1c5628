using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Router.Tests.Cluster;
using Router.Tests.Deploy;
using Router.Tests.EndToEnd;
using Router.Tests.Media;
using Xunit;
using Xunit.Abstractions;

namespace Router.Tests.Containers;

/// <summary>
/// deploy/k8s's cluster in real containers (podman): the built image, the manifests' own environment, ports, probes and
/// DNS names (<see cref="ManifestCluster"/>). Needs root and podman; the test builds the image when it is missing or stale:
/// <c>scripts/containers/setup.sh</c>, then <c>scripts/containers/test.sh</c>. Prints its figures.
/// </summary>
[Trait("Category", "Containers")]
[Collection(ClusterFaultCollection.Name)]
public sealed class ManifestClusterContainerTests(ITestOutputHelper output)
{
    /// <summary>The example key of deploy/k8s/base/secret.yaml (documented there and in docs/deploy.md; its tenant is "example").</summary>
    private const string ExampleKey = "example-key-CHANGE-ME";

    /// <summary>
    /// With the manifests' cluster timings (split-brain stable-after 7 s, down-removal margin 7 s) a kill -9'd node's
    /// cameras resume after ~20 s (docs/deploy.md); the cluster tests' bound for those timings.
    /// </summary>
    private const int KillBoundMs = 30_000;

    private void Log(string line) => output.WriteLine($"[{RouterProcess.Clock.Elapsed.TotalSeconds,6:F1} s] {line}");

    [Fact]
    public async Task Manifests_cluster_in_containers_becomes_ready_routes_video_across_gateways_and_survives_a_killed_node()
    {
        var manifests = Manifests.Render("deploy/k8s");
        var nodes = manifests.WorkloadOfRole("node");
        var gateways = manifests.WorkloadOfRole("gateway");
        var image = nodes.Container.Str("image")!;
        Assert.Equal(image, gateways.Container.Str("image"));
        Log(await RouterImage.EnsureAsync(image, Log));

        // The manifests' own key: the test knows the documented example key, the Secret only its SHA-256.
        var secret = manifests.DataOf("Secret", "router-api-keys");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ExampleKey))), secret["Router__ApiKeys__0__Sha256"]);
        var tenant = secret["Router__ApiKeys__0__Tenant"];

        var startedAt = RouterProcess.Clock.ElapsedMilliseconds;
        await using var cluster = await ManifestCluster.StartAsync(manifests, Log);
        Assert.Equal(3, cluster.Nodes.Count);
        Assert.Equal(2, cluster.Gateways.Count);

        // 1. Every pod ready: /readyz is 200 only for an Up cluster member.
        await cluster.WaitReadyAsync(cluster.All, TimeSpan.FromSeconds(180));
        Log($"3 nodes + 2 gateways Up and ready {(RouterProcess.Clock.ElapsedMilliseconds - startedAt) / 1000.0:F1} s after the first podman run " +
            $"(time to ready per pod: {string.Join(", ", cluster.All.Select(p => $"{p.Name} {p.TimeToReady}"))})");
        await cluster.WaitMembershipAsync(up: 5, TimeSpan.FromSeconds(30));
        Log("every member sees 5 members Up, none unreachable (router_cluster_members, /metrics at each pod IP)");

        // 2. A device pushes real video through gateway A (its published port); a consumer watches on gateway B.
        var gatewayA = cluster.Gateways[0];
        var gatewayB = cluster.Gateways[1];
        using var device = RouterProcess.Start("device", "router.dll",
        [
            "push", "--url", $"ws://127.0.0.1:{gatewayA.PublishedHttpPort}", "--key", ExampleKey, "--source", "robot-01", "--camera", "front",
            "--file", TestMedia.SharedMediaPath("vtest.avi"), "--loop", "--fps", "10",
        ]);
        var consumer = await WsClient.ConnectAsync(new Uri($"ws://127.0.0.1:{gatewayB.PublishedHttpPort}/v1/sources/robot-01/video/stream?camera_id=front&timeout=600"));
        await consumer.SendJsonAsync(new { type = "auth", api_key = ExampleKey });
        using var stop = new CancellationTokenSource();
        var clock = RouterProcess.Clock;
        var frames = new ClusterFaultTests.Recorder(clock);
        var receiving = frames.RunAsync(consumer, stop.Token);
        var subscribedAt = clock.ElapsedMilliseconds;
        var first = await frames.GapAfterAsync(subscribedAt, TimeSpan.FromSeconds(60));
        var steadyFrom = clock.ElapsedMilliseconds;
        await frames.GapAfterAsync(steadyFrom + 5_000, TimeSpan.FromSeconds(30));
        Log($"device on {gatewayA.Name} (127.0.0.1:{gatewayA.PublishedHttpPort}), consumer on {gatewayB.Name} (127.0.0.1:{gatewayB.PublishedHttpPort}), tenant {tenant}: " +
            $"first frame {first} ms after subscribing; then {frames.Count} frames, largest gap {frames.LargestGap(steadyFrom, clock.ElapsedMilliseconds)} ms over 5 s (device set to 10 fps)");

        // 3. podman kill (SIGKILL) of the node hosting the camera: frames resume on another node within the bound.
        var host = await HostOfCameraAsync(cluster, tenant);
        var killedAt = clock.ElapsedMilliseconds;
        await cluster.KillAsync(host);
        var gap = await frames.GapAfterAsync(killedAt + 500, TimeSpan.FromSeconds(60)) + 500;
        Log($"podman kill of {host.Name} (hosting the camera): frames resumed after {gap} ms (bound {KillBoundMs} ms with the manifests' " +
            $"cluster timings); consumer socket {consumer.State}");
        Assert.Equal(WebSocketState.Open, consumer.State);
        Assert.True(gap <= KillBoundMs, $"frames resumed {gap} ms after the kill");

        // 4. Its replacement, same pod name and DNS names (new IP), rejoins: ready = Up in the cluster again.
        var replacedAt = clock.ElapsedMilliseconds;
        var replacement = await cluster.ReplaceNodeAsync(host);
        await cluster.WaitReadyAsync([replacement], TimeSpan.FromSeconds(120));
        Log($"replacement {replacement.Name} ({replacement.Ip}) Up and ready {(clock.ElapsedMilliseconds - replacedAt) / 1000.0:F1} s after podman run");
        var agreedAfter = await cluster.WaitMembershipAsync(up: 5, TimeSpan.FromSeconds(60));
        Log($"rejoined: every member sees 5 members Up, none unreachable, {(clock.ElapsedMilliseconds - replacedAt) / 1000.0:F1} s after podman run (waited {agreedAfter} ms after ready)");
        var afterRejoin = await frames.GapAfterAsync(clock.ElapsedMilliseconds, TimeSpan.FromSeconds(10));
        Log($"frames still flowing after the rejoin (next frame after {afterRejoin} ms); consumer: {frames.Count} frames in timestamp order: {frames.InTimestampOrder()}");

        var everyPod = cluster.All.Concat(cluster.Replaced).ToList();
        Log($"liveness probes (GET /healthz) of the {everyPod.Count} pods: {everyPod.Sum(p => p.LivenessProbes)} run, " +
            $"{everyPod.Sum(p => p.LivenessFailures)} failed, {everyPod.Sum(p => p.LivenessRestarts)} containers restarted");
        Assert.True(cluster.All.All(p => p.Ready), "a pod is not ready at the end: " + string.Join(", ", cluster.All.Where(p => !p.Ready)));
        Assert.Equal(0, everyPod.Sum(p => p.LivenessRestarts));
        Assert.True(frames.InTimestampOrder());
        Assert.Null(frames.CloseStatus);
        Assert.False(device.HasExited, "the device stopped: " + string.Join('\n', device.Output.TakeLast(10)));
        stop.Cancel();
        await consumer.DisposeAsync();
        await receiving.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { });
    }

    /// <summary>The node whose remote-frame counter of <paramref name="tenant"/> grows (the test's one camera), read from /metrics at its pod IP.</summary>
    private static async Task<ContainerPod> HostOfCameraAsync(ManifestCluster cluster, string tenant)
    {
        var before = new Dictionary<ContainerPod, double>();
        for (var round = 0; round < 10; round++)
        {
            foreach (var node in cluster.Nodes)
            {
                double frames;
                try { frames = PrometheusText.Sum(await cluster.GetAsync(node, "/metrics", TimeSpan.FromSeconds(3)), "router_router_remote_frames", ("tenant", tenant)); }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException) { continue; }
                if (before.TryGetValue(node, out var earlier) && frames > earlier) return node;
                before[node] = frames;
            }
            await Task.Delay(1000);
        }
        throw new InvalidOperationException("no node is sending frames of the camera");
    }
}
