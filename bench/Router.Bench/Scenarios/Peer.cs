using Router.Bench.Infra;
using Router.Bench.Load;
using Router.Bench.Media;
using Router.Bench.Report;

namespace Router.Bench.Scenarios;

/// <summary>
/// The peer scenario (issue 11): go2rtc, the floor and Router side by side on one camera at 30 fps, the same bare JPEGs
/// (go2rtc's own clip frames), WebSocket consumers of each. go2rtc and the floor send <c>jpeg</c>; Router sends
/// <c>jpeg</c> and Plexus <c>json</c>. Each (server, format) at each consumer count is its own window, interleaved.
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
                foreach (var (server, format) in PeerServers)
                {
                    if (ctx.Settings.PeerServers is { } only && !only.Contains(server)) continue;
                    var row = await RunPeerOneAsync(pctx, server, new FanoutSpec { Scenario = $"P{run}", SourcePrefix = "peer-cam", Format = format, ConsumersPerCamera = n, Fps = 30 }, ct);
                    if (row is null) continue;
                    results.Peer.Add(row);
                    rows[(server, format)] = row;
                }
                double Cpu(string s, string f) => rows.TryGetValue((s, f), out var r) ? r.CpuSecondsPerGB : double.NaN;
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

    private async Task<FanoutRow?> RunPeerOneAsync(BenchContext pctx, string server, FanoutSpec spec, CancellationToken ct)
    {
        ctx.Log($"{spec.Scenario} {server} {spec.Format}: {spec.ConsumersPerCamera} consumer(s)");
        try
        {
            await using var target = server switch
            {
                "go2rtc" => await Target.StartGo2rtcAsync(pctx, ct),
                "floor" => await Target.StartFloorAsync(pctx, ct),
                _ => await Target.StartRouterAsync(pctx, ct),
            };
            var row = await Measure.FanoutAsync(pctx, target, spec, ct);
            ctx.Log($"  → fps min/p10/med {row.FpsMin}/{row.FpsP10}/{row.FpsMedian}, p99 {row.LatencyP99Ms} ms, server {row.ServerCpuCores} cores, " +
                    $"{row.CpuSecondsPerGB} CPU-s/GB, RSS {row.ServerPeakRssBytes / 1048576} MiB, client {row.ClientCpuCores} cores, machine {row.MachineBusyFraction:P0}");
            foreach (var note in row.Notes) ctx.Log($"    note: {note}");
            return row;
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or FileNotFoundException or IOException or
                                       System.Net.WebSockets.WebSocketException or HttpRequestException)
        {
            var message = $"{spec.Scenario} {server} {spec.Format} {spec.ConsumersPerCamera}: failed: {e.Message}";
            results.Notes.Add(message);
            ctx.Log("  " + message);
            return null;
        }
    }
}
