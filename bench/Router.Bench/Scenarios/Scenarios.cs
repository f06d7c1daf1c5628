using System.Diagnostics;
using System.Net;
using Router.Bench.Infra;
using Router.Bench.Load;
using Router.Bench.Report;

namespace Router.Bench.Scenarios;

/// <summary>The five scenarios of the benchmark and the floor comparison.</summary>
internal sealed partial class ScenarioRunner(BenchContext ctx, BenchResults results)
{
    /// <summary>Go relay, 50 WebSocket consumers (issue #4).</summary>
    public const double TargetWs50 = 0.42;

    /// <summary>Go relay, 500 HTTP consumers (issue #4).</summary>
    public const double TargetHttp500 = 0.6;

    private readonly HashSet<string> _profiled = [];

    private async Task<Target> StartAsync(string server, CancellationToken ct) =>
        server == "floor" ? await Target.StartFloorAsync(ctx, ct) : await Target.StartRouterAsync(ctx, ct);

    /// <summary>S1: one camera at 30 fps to 10/100/500 consumers, binary and JSON, Router and the floor.</summary>
    public async Task FanoutAsync(CancellationToken ct)
    {
        var counts = ctx.Settings.ConsumerCounts ?? [10, 100, 500];
        ctx.Log($"S1 fan-out: 1 camera at 30 fps → {string.Join('/', counts)} consumers; formats {string.Join(", ", ctx.Settings.Formats)}; servers {string.Join(", ", ctx.Settings.Servers)}");
        foreach (var format in ctx.Settings.Formats)
            foreach (var n in counts)
                foreach (var server in ctx.Settings.Servers)
                {
                    var row = await RunOneAsync(server, new FanoutSpec { Scenario = "S1", SourcePrefix = "s1-cam", Format = format, ConsumersPerCamera = n, Fps = 30 }, ct);
                    if (row is not null) results.Fanout.Add(row);
                }
        Compare();
        ctx.Out.WriteLine();
        ctx.Out.WriteLine("S1 fan-out (1 camera, 30 fps):");
        ctx.Out.Write(Tables.Fanout(results.Fanout));
        ctx.Out.WriteLine();
        ctx.Out.WriteLine("S1 Router vs floor and the targets:");
        ctx.Out.Write(Tables.VsFloor(results.FanoutVsFloor));
    }

    /// <summary>S2: many cameras at 10 fps, one consumer each.</summary>
    public async Task ManyAsync(CancellationToken ct)
    {
        var cameras = ctx.Settings.Cameras;
        var format = ctx.Settings.Formats[0];
        ctx.Log($"S2 many cameras: {cameras} cameras at 10 fps, one {format} consumer each");
        foreach (var server in ctx.Settings.Servers)
        {
            var row = await RunOneAsync(server, new FanoutSpec { Scenario = "S2", SourcePrefix = "s2-cam", Format = format, Cameras = cameras, ConsumersPerCamera = 1, Fps = 10 }, ct);
            if (row is not null) results.ManyCameras.Add(row);
        }
        ctx.Out.WriteLine();
        ctx.Out.WriteLine($"S2 many cameras ({cameras} cameras × 10 fps, 1 consumer each):");
        ctx.Out.Write(Tables.Fanout(results.ManyCameras));
    }

    /// <summary>S3: 100 consumers of one camera, 10 of them reading at 2 fps; then a stall and a resume.</summary>
    public async Task SlowAsync(CancellationToken ct)
    {
        var format = ctx.Settings.Formats[0];
        var stall = TimeSpan.FromSeconds(ctx.Settings.Quick ? 2 : 3);
        ctx.Log($"S3 slow consumers: 100 {format} consumers of 1 camera at 30 fps, 10 reading at 2 fps; stall {stall.TotalSeconds:0} s then resume");
        foreach (var server in ctx.Settings.Servers)
        {
            var baseline = results.Fanout.FirstOrDefault(r => r.Server == server && r.Format == format && r.Consumers == 100);
            if (baseline is null)
            {
                ctx.Log($"  {server}: baseline (100 fast consumers) first");
                baseline = await RunOneAsync(server, new FanoutSpec { Scenario = "S3-baseline", SourcePrefix = "s3-cam", Format = format, ConsumersPerCamera = 100, Fps = 30 }, ct);
                if (baseline is not null) results.SlowConsumers.Add(baseline);
            }
            var row = await RunOneAsync(server, new FanoutSpec
            {
                Scenario = "S3", SourcePrefix = "s3-cam", Format = format, ConsumersPerCamera = 100, SlowConsumers = 10, Fps = 30, Stall = stall,
            }, ct);
            if (row is null) continue;
            results.SlowConsumers.Add(row);
            if (baseline is null || row.Slow is null) continue;
            var kept = baseline.FpsMedian > 0 ? row.FpsMedian / baseline.FpsMedian : 0;
            var minKept = baseline.FpsMedian > 0 ? row.FpsMin / baseline.FpsMedian : 0;
            results.SlowVerdicts.Add(new SlowVerdict(server, row.FpsMedian, baseline.FpsMedian, Math.Round(minKept, 3), row.LatencyP99Ms, baseline.LatencyP99Ms,
                FpsPass: minKept >= 0.95,
                P99Pass: row.LatencyP99Ms <= Math.Max(baseline.LatencyP99Ms * 1.25, baseline.LatencyP99Ms + 5),
                HeldPass: row.Slow.ServerHeldFramesEstMax <= 2,
                NewestPass: row.Slow.StaleFromServerMax <= 1 && row.Slow.FreshLagMax <= 2));
        }
        ctx.Out.WriteLine();
        ctx.Out.WriteLine("S3 slow consumers (100 consumers, 10 read at 2 fps; the other 90 are the fast ones):");
        ctx.Out.Write(Tables.Fanout(results.SlowConsumers));
        ctx.Out.WriteLine();
        ctx.Out.Write(Tables.Slow(results.SlowConsumers));
        ctx.Out.WriteLine();
        ctx.Out.WriteLine("S3 verdicts (fps kept = slowest fast consumer vs the baseline median; p99 kept = ≤1.25× or +5 ms):");
        ctx.Out.Write(Tables.SlowVerdicts(results.SlowVerdicts));
    }

    /// <summary>S4: camera entity on a node process, devices and consumers on a gateway process.</summary>
    public async Task CrossNodeAsync(CancellationToken ct)
    {
        var result = new CrossNodeResult();
        results.CrossNode = result;
        var counts = ctx.Settings.Quick ? new[] { 1, 10 } : [1, 10, 100];
        ctx.Log($"S4 cross-node: Router.Node --role node + Router.Node --role gateway; 1 camera at 30 fps → {string.Join('/', counts)} binary consumers on the gateway");
        Target cluster;
        try
        {
            cluster = await Target.StartClusterAsync(ctx, ct);
        }
        catch (Exception e) when (e is TimeoutException or FileNotFoundException or InvalidOperationException)
        {
            result.Reason = $"the cluster did not start: {e.Message}";
            Skip(result);
            return;
        }
        await using (cluster)
        {
            var node = cluster.Processes[0];
            foreach (var n in counts)
            {
                (long Frames, long Bytes)? remoteBefore = null, remoteAfter = null;
                (long Sent, long Received)? tcpBefore = null, tcpAfter = null;
                var nodePort = cluster.NodeHttp!.Port;
                FanoutRow row;
                try
                {
                    row = await Measure.FanoutAsync(ctx, cluster, new FanoutSpec { Scenario = "S4", SourcePrefix = $"s4-n{n}", Format = "binary", ConsumersPerCamera = n, Fps = 30 }, ct,
                        duringWindow: async () =>
                        {
                            tcpBefore = SocketBytes.Read(node.Pid, nodePort);
                            remoteBefore = await RemoteAsync(cluster.NodeHttp!, ct);
                        },
                        afterWindow: async () =>
                        {
                            tcpAfter = SocketBytes.Read(node.Pid, nodePort);
                            remoteAfter = await RemoteAsync(cluster.NodeHttp!, ct);
                        });
                }
                catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.Net.WebSockets.WebSocketException or HttpRequestException)
                {
                    result.Reason = $"{n} consumers: {e.Message}";
                    break;
                }
                if (row.Notes.Count > 0) results.Notes.Add($"S4 {n} consumers: {string.Join("; ", row.Notes)}");
                if (row.FramesDelivered == 0)
                {
                    result.Reason = $"no frame reached a consumer through the gateway ({n} consumers; device: {row.DeviceLastError ?? "no error"}; logs {string.Join(", ", cluster.Processes.Select(p => p.LogPath))})";
                    break;
                }
                var nodeDelta = row.Processes.First(p => p.Name == "node");
                var gw = row.Processes.First(p => p.Name == "gateway");
                var sent = Math.Max(1, row.DeviceFramesSent);
                double PerFrame(long? a, long? b) => a is null || b is null ? double.NaN : Math.Round((double)(b.Value - a.Value) / sent);
                result.Rows.Add(new CrossNodeRow(n, row.FpsMedian, row.LatencyP99Ms, row.DeviceFramesSent,
                    PerFrame(tcpBefore?.Sent, tcpAfter?.Sent), PerFrame(tcpBefore?.Received, tcpAfter?.Received),
                    remoteAfter is null || remoteBefore is null ? double.NaN : Math.Round((remoteAfter.Value.Frames - remoteBefore.Value.Frames) / (double)sent, 3),
                    PerFrame(remoteBefore?.Bytes, remoteAfter?.Bytes), nodeDelta.CpuCores, gw.CpuCores, Math.Round(ctx.Frames.MeanBytes)));
                ctx.Log($"  S4 {n}: fps median {row.FpsMedian}, node sent {result.Rows[^1].NodeTxBytesPerFrame:0} TCP bytes per frame");
            }
        }
        result.Status = result.Rows.Count > 0 ? "ok" : "skipped";
        if (result.Rows.Count == 0) Skip(result);
        else if (result.Reason is not null) results.Notes.Add($"S4 incomplete: {result.Reason}");
        ctx.Out.WriteLine();
        ctx.Out.WriteLine("S4 cross-node (camera entity on the node process, consumers on the gateway process):");
        ctx.Out.Write(Tables.CrossNode(result));
    }

    private void Skip(CrossNodeResult result)
    {
        result.Status = "skipped";
        results.Skipped.Add($"S4: skipped: {result.Reason}");
        ctx.Log($"S4: skipped: {result.Reason}");
    }

    /// <summary>
    /// Frames and bytes the node process sent over remoting so far: the sums over all tenants of
    /// <c>router_router_remote_frames</c> and <c>router_router_remote_bytes</c> in its <c>/metrics</c> (Prometheus text).
    /// </summary>
    private static async Task<(long Frames, long Bytes)?> RemoteAsync(Uri nodeHttp, CancellationToken ct)
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var text = await http.GetStringAsync(new Uri(nodeHttp, "/metrics"), ct);
            return ((long)PrometheusSamples.Sum(text, "router_router_remote_frames"), (long)PrometheusSamples.Sum(text, "router_router_remote_bytes"));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or FormatException)
        {
            return null;
        }
    }

    /// <summary>S5: many idle consumer WebSockets on one process: memory per subscriber.</summary>
    public async Task IdleAsync(CancellationToken ct)
    {
        var count = ctx.Settings.IdleCount;
        var limit = FileLimit.Raise(count + 2_000);
        ctx.Log($"S5 idle subscribers: {count} consumer WebSockets on one process (open-files limit {limit})");
        if (limit > 0 && limit < count + 500) results.Notes.Add($"S5: open-files limit {limit} is low for {count} sockets");
        foreach (var server in ctx.Settings.Servers)
        {
            try
            {
                var r = await IdleOneAsync(server, count, ct);
                results.Idle.Add(r);
                ctx.Log($"  {server}: {r.Connected}/{count} connected, {r.BytesPerSubscriber:0} bytes per subscriber");
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException or FileNotFoundException)
            {
                results.Notes.Add($"S5 {server} failed: {e.Message}");
                ctx.Log($"  S5 {server} failed: {e.Message}");
            }
        }
        ctx.Out.WriteLine();
        ctx.Out.WriteLine($"S5 idle subscribers ({count} consumer WebSockets subscribed to a camera that sends nothing):");
        ctx.Out.Write(Tables.Idle(results.Idle));
    }

    private async Task<IdleResult> IdleOneAsync(string server, int count, CancellationToken ct)
    {
        const int Baseline = 100;
        await using var target = await StartAsync(server, ct);
        var uri = new Uri(target.WsBase, "/v1/sources/s5-idle/video/stream?camera_id=main&format=binary");
        // Several source addresses so ephemeral ports never run out.
        var invokers = Enumerable.Range(1, 8).Select(i => Connector.CreateInvoker(new ConnectOptions(IPAddress.Parse($"127.0.0.{i}"), 0, 1024))).ToArray();
        var consumers = new List<IdleConsumer>();
        int failed = 0;
        string? firstError = null;
        try
        {
            async Task ConnectAsync(int from, int to)
            {
                await Parallel.ForEachAsync(Enumerable.Range(from, to - from), new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = ct }, async (i, token) =>
                {
                    var c = new IdleConsumer();
                    try
                    {
                        await c.ConnectAsync(uri, ctx.ApiKey, invokers[i % invokers.Length], new ConnectOptions(null, 0, 1024), token);
                        lock (consumers) consumers.Add(c);
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
                    {
                        Interlocked.Increment(ref failed);
                        firstError ??= e.Message;
                        c.Abort();
                    }
                });
            }
            await ConnectAsync(0, Baseline);
            await Task.Delay(3000, ct);
            var before = target.Front.Sample();
            var sw = Stopwatch.StartNew();
            await ConnectAsync(Baseline, count);
            var connectSeconds = sw.Elapsed.TotalSeconds;
            await Task.Delay(5000, ct);
            var mid = target.Front.Sample();
            await Task.Delay(3000, ct);
            var after = target.Front.Sample();
            var idleCores = (after.CpuSeconds - mid.CpuSeconds) / 3.0;
            var added = consumers.Count - Baseline;
            return new IdleResult(server, count, consumers.Count, failed, firstError, Math.Round(connectSeconds, 1), Baseline, before.RssBytes,
                after.RssBytes, added > 0 ? Math.Round((double)(after.RssBytes - before.RssBytes) / added) : double.NaN, Math.Round(idleCores, 3),
                after.Threads, consumers.Sum(c => Interlocked.Read(ref c.Messages)));
        }
        finally
        {
            target.Front.Kill();
            foreach (var c in consumers) c.Abort();
            foreach (var i in invokers) i.Dispose();
        }
    }

    private async Task<FanoutRow?> RunOneAsync(string server, FanoutSpec spec, CancellationToken ct)
    {
        ctx.Log($"{spec.Scenario} {server} {spec.Format}: {spec.Cameras} camera(s) × {spec.ConsumersPerCamera} consumer(s) at {spec.Fps} fps{(spec.SlowConsumers > 0 ? $", {spec.SlowConsumers} slow" : "")}");
        try
        {
            await using var target = await StartAsync(server, ct);
            Func<Task>? hook = null;
            string? profileFile = null;
            if (ctx.Settings.Profile is { } kind && _profiled.Add(server))
            {
                profileFile = Path.Combine(ctx.Settings.ProfileDir, $"{server}-{spec.Scenario}-{spec.Format}-{spec.ConsumersPerCamera}.{(kind == "perf" ? "perf.data" : "nettrace")}");
                hook = () => Profiler.StartAsync(ctx, target.Front.Pid, kind, profileFile, ctx.Window, ct);
            }
            var row = await Measure.FanoutAsync(ctx, target, spec, ct, hook);
            if (profileFile is not null) row.Notes.Add($"profiled ({ctx.Settings.Profile}) into {profileFile}; figures include the profiler's overhead");
            ctx.Log($"  → fps min/med {row.FpsMin}/{row.FpsMedian}, p99 {row.LatencyP99Ms} ms, server {row.ServerCpuCores} cores, {row.CpuSecondsPerGB} CPU-s/GB, client {row.ClientCpuCores} cores, machine {row.MachineBusyFraction:P0}");
            foreach (var note in row.Notes) ctx.Log($"    note: {note}");
            return row;
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or FileNotFoundException or System.Net.WebSockets.WebSocketException or HttpRequestException)
        {
            var message = $"{spec.Scenario} {server} {spec.Format} {spec.Cameras}x{spec.ConsumersPerCamera}: failed: {e.Message}";
            results.Notes.Add(message);
            ctx.Log("  " + message);
            return null;
        }
    }

    /// <summary>Router/floor per S1 row, and the issue's targets.</summary>
    private void Compare()
    {
        results.FanoutVsFloor.Clear();
        foreach (var r in results.Fanout.Where(r => r.Scenario == "S1" && r.Server == "router"))
        {
            var f = results.Fanout.FirstOrDefault(x => x.Scenario == "S1" && x.Server == "floor" && x.Format == r.Format && x.Consumers == r.Consumers);
            var baseTarget = r.Consumers >= 500 ? TargetHttp500 : TargetWs50;
            var target = r.Format == "json" ? baseTarget * 1.5 : baseTarget;
            var efficiency = f is null || r.CpuSecondsPerGB <= 0 ? double.NaN : f.CpuSecondsPerGB / r.CpuSecondsPerGB;
            results.FanoutVsFloor.Add(new FloorComparison(r.Format, r.Consumers, r.CpuSecondsPerGB, f?.CpuSecondsPerGB ?? double.NaN,
                Math.Round(efficiency, 3), f is null || f.FpsMedian <= 0 ? double.NaN : Math.Round(r.FpsMedian / f.FpsMedian, 3),
                f is null || f.LatencyP99Ms <= 0 ? double.NaN : Math.Round(r.LatencyP99Ms / f.LatencyP99Ms, 3), target,
                r.CpuSecondsPerGB <= target, efficiency >= 0.8));
        }
    }
}
