using Router.Bench.Infra;
using Router.Bench.Load;
using Router.Bench.Media;
using Router.Bench.Report;

namespace Router.Bench.Scenarios;

/// <summary>
/// The peer scenario (issue 11): go2rtc, the floor and Router side by side on one camera at 30 fps, the same bare JPEGs
/// (go2rtc's own clip frames), WebSocket consumers of each. go2rtc and the floor send <c>jpeg</c>; Router sends
/// <c>jpeg</c> and Plexus <c>json</c>. Each (server, format) at each consumer count is its own window, interleaved; with
/// <c>--paired</c> they all run in one window at the same time, each with its own camera, feed and consumers.
/// </summary>
internal sealed partial class ScenarioRunner
{
    private static readonly (string Server, string Format)[] PeerServers = [("go2rtc", "jpeg"), ("floor", "jpeg"), ("router", "jpeg"), ("router", "json")];

    public async Task PeerAsync(CancellationToken ct)
    {
        var counts = ctx.Settings.ConsumerCounts ?? [50, 200, 500];
        var frames = PeerMedia.Load(ctx.Settings.MediaPath);
        var pctx = new BenchContext(ctx.Settings, frames, ctx.Out);
        ctx.Log($"peer: go2rtc ({ctx.Settings.Go2rtcPath}), the floor and Router; 1 camera at 30 fps of {frames.Frames.Count} go2rtc clip frames " +
                $"({frames.Width}x{frames.Height}, mean {frames.MeanBytes / 1000:0.0} KB) → {string.Join('/', counts)} consumers; {ctx.Settings.Repeat} run(s) each");
        results.Media["peer_frames"] = frames.Frames.Count;
        results.Media["peer_mean_jpeg_bytes"] = Math.Round(frames.MeanBytes);
        for (var run = 1; run <= ctx.Settings.Repeat; run++)
            foreach (var n in counts)
            {
                var rows = new Dictionary<(string, string), FanoutRow>();
                var points = PeerServers.Where(p => ctx.Settings.PeerServers is not { } only || only.Contains(p.Server)).ToList();
                if (ctx.Settings.RouterBEnv.Count > 0) points.Add(("router-b", "jpeg"));
                FanoutSpec Spec(string format) => new() { Scenario = $"P{run}", SourcePrefix = "peer-cam", Format = format, ConsumersPerCamera = n, Fps = 30 };
                // --paired: all servers of the point in one window, each with its own camera and consumers, so that whatever
                // the machine does during the window (docs/benchmarks.md, "the slow mode") it does to all of them.
                var groups = ctx.Settings.Paired ? [points] : points.Select(p => new List<(string Server, string Format)> { p }).ToList();
                foreach (var group in groups)
                {
                    var found = await RunPeerTogetherAsync(pctx, group.Select(p => (p.Server, Spec(p.Format))).ToList(), ct);
                    for (var i = 0; i < group.Count; i++)
                    {
                        if (found[i] is not { } row) continue;
                        if (group.Count > 1)
                            row.Notes.Add($"paired: in the same window as {string.Join(", ", group.Where((_, j) => j != i).Select(p => $"{p.Server} {p.Format}"))}");
                        results.Peer.Add(row);
                        rows[group[i]] = row;
                    }
                }
                double Cpu(string s, string f) => rows.TryGetValue((s, f), out var r) ? r.CpuSecondsPerGB : double.NaN;
                if (rows.ContainsKey(("router-b", "jpeg")) && rows.ContainsKey(("router", "jpeg")))
                    ctx.Log($"  router-b ({string.Join(' ', ctx.Settings.RouterBEnv)}) / router jpeg: {Cpu("router-b", "jpeg") / Cpu("router", "jpeg"):0.000}");
                var go = rows.GetValueOrDefault(("go2rtc", "jpeg"));
                var jpeg = Cpu("router", "jpeg");
                var json = Cpu("router", "json");
                var fpsHeld = go is null || go.FpsMin < 29 ||
                              (rows.GetValueOrDefault(("router", "jpeg"))?.FpsMin >= 29 && rows.GetValueOrDefault(("router", "json"))?.FpsMin >= 29);
                results.PeerVsRouter.Add(new PeerComparison(n, run, Cpu("go2rtc", "jpeg"), Cpu("floor", "jpeg"), jpeg, json,
                    jpeg <= Cpu("go2rtc", "jpeg"), Math.Round(json / jpeg, 3), json <= 1.5 * jpeg, fpsHeld,
                    go?.CpuSecondsPerGBWithChildren ?? double.NaN));
            }
        ctx.Out.WriteLine();
        ctx.Out.WriteLine("Peer: go2rtc, the floor and Router (1 camera, 30 fps, the same bare JPEGs):");
        ctx.Out.Write(Tables.Peer(results.Peer));
        ctx.Out.WriteLine();
        ctx.Out.Write(Tables.PeerVerdicts(results.PeerVsRouter));
    }

    /// <summary>
    /// Measures <paramref name="points"/> in one window (one point: its own window; several, with <c>--paired</c>): starts
    /// every server first, then measures them all in windows that start together (the same warm-up from the same
    /// moment), so a server that starts faster does not get an earlier window. Returns a row per point, null where the
    /// server failed (the failure is noted in the results); every started server is stopped before it returns.
    /// </summary>
    private async Task<FanoutRow?[]> RunPeerTogetherAsync(BenchContext pctx, IReadOnlyList<(string Server, FanoutSpec Spec)> points, CancellationToken ct)
    {
        var started = new Target?[points.Count];
        try
        {
            for (var i = 0; i < points.Count; i++)
            {
                try { started[i] = await StartPeerTargetAsync(pctx, points[i].Server, ct); }
                catch (Exception e) when (IsServerFailure(e)) { PeerFailed(points[i].Server, points[i].Spec, e); }
            }
            return await Task.WhenAll(points.Select(async (p, i) =>
            {
                if (started[i] is not { } target) return null;
                try { return await MeasurePeerAsync(pctx, target, p.Server, p.Spec, ct); }
                catch (Exception e) when (IsServerFailure(e))
                {
                    PeerFailed(p.Server, p.Spec, e);
                    return null;
                }
            }));
        }
        finally
        {
            foreach (var target in started)
                if (target is not null) await target.DisposeAsync();
        }
    }

    private async Task<Target> StartPeerTargetAsync(BenchContext pctx, string server, CancellationToken ct) => server switch
    {
        "go2rtc" => await Target.StartGo2rtcAsync(pctx, ct),
        "floor" => await Target.StartFloorAsync(pctx, ct),
        "router-b" => await Target.StartRouterAsync(pctx, "router-b", ctx.Settings.RouterBEnv, ct),
        _ => await Target.StartRouterAsync(pctx, ct),
    };

    private async Task<FanoutRow> MeasurePeerAsync(BenchContext pctx, Target target, string server, FanoutSpec spec, CancellationToken ct)
    {
        ctx.Log($"{spec.Scenario} {server} {spec.Format}: {spec.ConsumersPerCamera} consumer(s)");
        var row = await Measure.FanoutAsync(pctx, target, spec, ct);
        ctx.Log($"  → {server} {spec.Format}: fps min/p10/med {row.FpsMin}/{row.FpsP10}/{row.FpsMedian}, p99 {row.LatencyP99Ms} ms, server {row.ServerCpuCores} cores, " +
                $"{row.CpuSecondsPerGB} CPU-s/GB, RSS {row.ServerPeakRssBytes / 1048576} MiB, client {row.ClientCpuCores} cores, machine {row.MachineBusyFraction:P0}");
        foreach (var note in row.Notes) ctx.Log($"    note: {note}");
        return row;
    }

    /// <summary>A server that did not start or a measurement that failed: noted, and the run goes on.</summary>
    private static bool IsServerFailure(Exception e) =>
        e is TimeoutException or InvalidOperationException or FileNotFoundException or IOException or
            System.Net.WebSockets.WebSocketException or HttpRequestException;

    private void PeerFailed(string server, FanoutSpec spec, Exception e)
    {
        var message = $"{spec.Scenario} {server} {spec.Format} {spec.ConsumersPerCamera}: failed: {e.Message}";
        lock (results.Notes) results.Notes.Add(message);
        ctx.Log("  " + message);
    }
}
