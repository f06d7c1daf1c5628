using System.Diagnostics;
using System.Net.WebSockets;
using Router.Gateway.Security;
using Router.Protocol;
using Router.Tests.EndToEnd;
using Router.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Router.Tests.Cluster;

/// <summary>
/// Per-camera flow control across processes: one device socket pushes 16 synchronised cameras at 5 fps into a
/// Router.Node process in role gateway whose camera entities live in a Router.Node process in role node; a consumer on the gateway watches all 16.
/// </summary>
[Trait("Category", "Cluster")]
[Collection(ClusterFaultCollection.Name)]
public sealed class ManyCamerasClusterTests(ITestOutputHelper output)
{
    private const string Key = "many-cameras-key";

    private static List<string> CommonArgs(int httpPort, int remotingPort, string seed) =>
    [
        $"--urls=http://127.0.0.1:{httpPort}",
        "--Router:Cluster:Hostname=127.0.0.1",
        $"--Router:Cluster:Port={remotingPort}",
        "--Router:Cluster:SeedNodes:0=" + seed,
        "--Logging:LogLevel:Default=Warning",
    ];

    private static async Task WaitReadyAsync(RouterProcess process, int httpPort)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = WaitDeadline.In(TimeSpan.FromSeconds(40));
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"{process.Name} exited: {string.Join('\n', process.Output.TakeLast(30))}");
            try
            {
                if ((await http.GetAsync($"http://127.0.0.1:{httpPort}/readyz")).IsSuccessStatusCode) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            if (deadline.Passed) throw new TimeoutException($"{process.Name} not ready: {string.Join('\n', process.Output.TakeLast(30))}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task Sixteen_cameras_on_one_device_socket_each_deliver_95_percent_of_their_frames_across_processes()
    {
        var clock = Stopwatch.StartNew();
        var (nodeHttp, nodeRemoting, gatewayHttp, gatewayRemoting) =
            (TestPorts.Next(), TestPorts.Next(), TestPorts.Next(), TestPorts.Next());
        var seed = $"akka.tcp://router@127.0.0.1:{nodeRemoting}";
        var nodeArgs = CommonArgs(nodeHttp, nodeRemoting, seed);
        nodeArgs.Add("--role=node");
        var gatewayArgs = CommonArgs(gatewayHttp, gatewayRemoting, seed);
        gatewayArgs.AddRange(["--role=gateway", $"--Router:ApiKeys:0:Sha256={ApiKeyStore.HashKey(Key)}", "--Router:ApiKeys:0:Tenant=acme",
            "--Router:ApiKeys:0:Scopes:0=ingest", "--Router:ApiKeys:0:Scopes:1=view"]);
        using var node = RouterProcess.Start("many-cameras-node", "Router.Node.dll", nodeArgs);
        using var gateway = RouterProcess.Start("many-cameras-gateway", "Router.Node.dll", gatewayArgs);
        await WaitReadyAsync(node, nodeHttp);
        await WaitReadyAsync(gateway, gatewayHttp);
        output.WriteLine($"1 node + 1 gateway up in {clock.Elapsed.TotalSeconds:F1} s");

        const int cameras = 16, rounds = 50, periodMs = 200; // 5 fps for 10 s
        var ids = Enumerable.Range(0, cameras).Select(c => $"cam-{c:00}").ToList();
        var wsBase = new Uri($"ws://127.0.0.1:{gatewayHttp}");
        await using var device = await WsClient.ConnectAsync(new Uri(wsBase, "/ws/device"));
        await device.SendJsonAsync(new { type = "device_auth", api_key = Key, source_id = "robot-16", platform = "test" });
        Assert.Equal("authenticated", (await device.ReceiveAsync()).Json.GetProperty("type").GetString());
        var replies = new List<string>();
        var readingReplies = Task.Run(async () =>
        {
            while (true)
            {
                WsMessage m;
                try { m = await device.ReceiveAsync(TimeSpan.FromSeconds(120)); }
                catch (Exception) { return; }
                if (m.CloseStatus is not null) return;
                if (m.Type == WebSocketMessageType.Text) lock (replies) replies.Add(m.Text);
            }
        });
        await using var consumer = await WsClient.ConnectAsync(
            new Uri(wsBase, "/v1/sources/robot-16/video/stream?format=binary&" + string.Join("&", ids.Select(id => $"camera_id={id}"))));
        await consumer.SendJsonAsync(new { type = "auth", api_key = Key });
        Assert.Equal("init", (await consumer.ReceiveAsync()).Json.GetProperty("type").GetString());
        var received = ids.ToDictionary(id => id, _ => new List<(long Ts, long AtMs)>());
        var receiving = Task.Run(async () =>
        {
            while (true)
            {
                WsMessage m;
                try { m = await consumer.ReceiveAsync(TimeSpan.FromSeconds(60)); }
                catch (Exception) { return; }
                if (m.CloseStatus is not null) return;
                if (m.Type != WebSocketMessageType.Binary || !BinaryFrameCodec.TryDecode(m.Data, out var header, out _, out _)) continue;
                lock (received) received[header.CameraId].Add((header.TimestampMs, clock.ElapsedMilliseconds));
            }
        });

        // Warm-up: one frame per camera (creating the 16 entities on the node) until the consumer has one of each.
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var deadline = WaitDeadline.In(TimeSpan.FromSeconds(20));
        while (true)
        {
            lock (received) if (received.Values.All(r => r.Count > 0)) break;
            Assert.False(deadline.Passed, "warm-up frames did not reach the consumer in 20 s");
            foreach (var id in ids.Where(id => { lock (received) return received[id].Count == 0; }))
                await device.SendBinaryAsync(WsClient.BinaryFrame("ignored", id, TestFrames.Vtest[0], start - 5000 + (int)(clock.ElapsedMilliseconds % 1000)));
            await Task.Delay(500);
        }
        lock (received) foreach (var r in received.Values) r.Clear();

        // All cameras' frames sent together, 5 times a second, as a robot with synchronised cameras does.
        var runFrom = clock.ElapsedMilliseconds;
        using (var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(periodMs)))
        {
            for (var r = 0; r < rounds; r++)
            {
                foreach (var id in ids)
                    await device.SendBinaryAsync(WsClient.BinaryFrame("ignored", id, TestFrames.Vtest[r % TestFrames.Vtest.Count], start + r * periodMs));
                await tick.WaitForNextTickAsync();
            }
        }
        var lastTs = start + (rounds - 1) * periodMs;
        deadline = WaitDeadline.In(TimeSpan.FromSeconds(10));
        while (!deadline.Passed)
        {
            lock (received) if (received.Values.All(r => r.Any(f => f.Ts == lastTs))) break;
            await Task.Delay(50);
        }

        lock (received)
        {
            foreach (var (id, frames) in received)
            {
                var arrivals = frames.Select(f => f.AtMs).Prepend(runFrom).ToList();
                var (gap, at) = arrivals.Zip(arrivals.Skip(1), (a, b) => (Gap: b - a, At: a - runFrom)).DefaultIfEmpty((Gap: 0L, At: 0L)).MaxBy(g => g.Gap);
                output.WriteLine($"{id}: {frames.Select(f => f.Ts).Distinct().Count()} of {rounds} frames, largest gap {gap} ms (from {at} ms into the run)");
            }
            lock (replies) output.WriteLine($"device replies: {replies.Count} {string.Join(" | ", replies.Take(5))}");
            foreach (var (id, frames) in received)
            {
                var got = frames.Select(f => f.Ts).Where(ts => ts >= start).Distinct().Count();
                Assert.True(got >= rounds * 95 / 100, $"{id} got {got} of {rounds} frames");
            }
        }
        output.WriteLine($"test took {clock.Elapsed.TotalSeconds:F1} s");
    }
}
