using Router.Bench.Infra;
using Router.Bench.Load;
using Router.Bench.Media;
using Router.Bench.Report;

namespace Router.Bench.Scenarios;

/// <summary>
/// The rest scenario (issue 11): what a server costs doing nothing. Router standalone at rest (no consumer, no device),
/// with one camera pushing 30 fps and nobody watching, during a burst of 500 consumers and a minute after they left;
/// the floor (a bare Kestrel WebSocket app with Router's device protocol) in the same states, so that the cost of only
/// receiving the camera's frames on this machine is measured beside Router's; go2rtc the same except the camera (it
/// pulls its source only while someone watches, so it has no "pushing, nobody watching" state); and every process of
/// a local cluster (3 nodes + 2 gateways, the shape of <c>deploy/local/cluster.sh</c>, without its pull source) at rest. CPU is the process's utime+stime over the window
/// as a share of one core.
/// </summary>
internal sealed partial class ScenarioRunner
{
    public async Task RestAsync(CancellationToken ct)
    {
        var window = TimeSpan.FromSeconds(ctx.Settings.RestSeconds);
        var settle = TimeSpan.FromSeconds(ctx.Settings.RestSettleSeconds); // tiered JIT still works ~30 s after start
        var burst = ctx.Settings.Quick ? 100 : 500;
        var after = TimeSpan.FromSeconds(ctx.Settings.Quick ? 10 : 60);
        var frames = PeerMedia.Load(ctx.Settings.MediaPath);
        var pctx = new BenchContext(ctx.Settings, frames, ctx.Out);
        ctx.Log($"rest: {window.TotalSeconds:0} s windows after {settle.TotalSeconds:0} s settling; burst of {burst} consumers, RSS {after.TotalSeconds:0} s after they left");
        var only = ctx.Settings.PeerServers; // --servers router go2rtc cluster: run only these parts
        foreach (var server in ctx.Settings.RestClusterOnly ? [] : new[] { "router", "floor", "go2rtc" })
        {
            if (only is not null && !only.Contains(server)) continue;
            try
            {
                await using var target = server switch
                {
                    "go2rtc" => await Target.StartGo2rtcAsync(pctx, ct),
                    "floor" => await Target.StartFloorAsync(pctx, ct),
                    _ => await Target.StartRouterAsync(pctx, ct),
                };
                var p = target.Front;
                await Task.Delay(settle, ct);
                results.Rest.Add(await RestWindowAsync(server, "at rest", p, window, ct));
                if (server is "router" or "floor")
                {
                    await using var device = new Device(new CameraLedger("rest-cam", "main"), frames, 30, 0);
                    await device.ConnectAsync(target.WsBase, pctx.ApiKey, ct);
                    using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    var sending = Task.Run(() => device.RunAsync(stop.Token), CancellationToken.None);
                    await Task.Delay(settle, ct);
                    results.Rest.Add(await RestWindowAsync(server, "one camera pushing, nobody watching", p, window, ct));
                    await stop.CancelAsync();
                    await sending;
                }
                var row = await Measure.FanoutAsync(pctx, target, new FanoutSpec { Scenario = "rest", SourcePrefix = "rest-burst", Format = "jpeg", ConsumersPerCamera = burst, Fps = 30 }, ct);
                ctx.Log($"  {server}: {burst} consumers at {row.FpsMedian} fps median, peak RSS {row.ServerPeakRssBytes / 1048576} MiB; they left");
                results.Rest.Add(new RestRow(server, $"peak with {burst} consumers", p.Name, row.WindowSeconds,
                    Math.Round(row.ServerCpuCores * 100, 2), row.ServerPeakRssBytes, row.Processes[0].Threads));
                var wait = after - window;
                if (wait > TimeSpan.Zero) await Task.Delay(wait, ct);
                results.Rest.Add(await RestWindowAsync(server, $"{after.TotalSeconds:0} s after {burst} consumers left", p, window, ct));
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException or FileNotFoundException or IOException or
                                           System.Net.WebSockets.WebSocketException or HttpRequestException)
            {
                results.Notes.Add($"rest {server}: failed: {e.Message}");
                ctx.Log($"  rest {server}: failed: {e.Message}");
            }
        }
        if (only is not null && !only.Contains("cluster")) { WriteRestTable(); return; }
        try
        {
            await using var cluster = await Target.StartLocalClusterAsync(pctx, 3, 2, ct);
            await Task.Delay(settle, ct);
            var starts = cluster.Processes.Select(p => (Proc: p.Sample(), Switches: ProcSample.ReadThreadSwitches(p.Pid))).ToList();
            await Task.Delay(window, ct);
            for (var i = 0; i < cluster.Processes.Count; i++)
            {
                var p = cluster.Processes[i];
                var end = p.Sample();
                var wakeups = Math.Round(ProcSample.WakeupsPerSecond(starts[i].Switches, ProcSample.ReadThreadSwitches(p.Pid), window.TotalSeconds), 1);
                results.Rest.Add(new RestRow("router-cluster", "at rest", p.Name, window.TotalSeconds,
                    Math.Round((end.CpuSeconds - starts[i].Proc.CpuSeconds) / window.TotalSeconds * 100, 2), end.RssBytes, end.Threads, wakeups));
                ctx.Log($"  cluster {p.Name} at rest: {results.Rest[^1].CpuPercentOfCore} % of a core, {wakeups} wake-ups/s, RSS {end.RssBytes / 1048576} MiB");
            }
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or FileNotFoundException)
        {
            results.Notes.Add($"rest cluster: failed: {e.Message}");
            ctx.Log($"  rest cluster: failed: {e.Message}");
        }
        WriteRestTable();
    }

    private void WriteRestTable()
    {
        ctx.Out.WriteLine();
        ctx.Out.WriteLine("At rest (CPU: share of one core over the window; RSS at its end):");
        ctx.Out.Write(Tables.Rest(results.Rest));
    }

    private async Task<RestRow> RestWindowAsync(string server, string state, ServerProcess p, TimeSpan window, CancellationToken ct)
    {
        var a = p.Sample();
        var switches = ProcSample.ReadThreadSwitches(p.Pid);
        await Task.Delay(window, ct);
        var b = p.Sample();
        var cpu = Math.Round((b.CpuSeconds - a.CpuSeconds) / window.TotalSeconds * 100, 2);
        var wakeups = Math.Round(ProcSample.WakeupsPerSecond(switches, ProcSample.ReadThreadSwitches(p.Pid), window.TotalSeconds), 1);
        ctx.Log($"  {server} {state}: {cpu} % of a core, {wakeups} wake-ups/s, RSS {b.RssBytes / 1048576} MiB, {b.Threads} threads");
        return new RestRow(server, state, p.Name, window.TotalSeconds, cpu, b.RssBytes, b.Threads, wakeups);
    }
}
