using Router.Bench.Infra;
using Router.Bench.Load;
using Router.Bench.Media;
using Router.Bench.Report;

namespace Router.Bench.Scenarios;

/// <summary>
/// The rest scenario (issue 11): what a server costs doing nothing. Router standalone at rest (no consumer, no device),
/// with one camera pushing 30 fps (or each rate of <c>--rest-fps</c>) and nobody watching, during a burst of 500 consumers and a minute after they left;
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
        // Not the frames of the header above: the camera and the burst use the peer scenario's (go2rtc's README).
        ctx.Log($"rest: the camera sends the peer frames ({frames.Frames.Count} × {frames.Width}x{frames.Height}, mean {frames.MeanBytes / 1000:0.0} KB) " +
                $"at {string.Join(" / ", ctx.Settings.RestFps)} fps");
        var only = ctx.Settings.PeerServers; // --servers router go2rtc cluster: run only these parts
        if (ctx.Settings.Paired)
        {
            await RestPairedAsync(pctx, frames, settle, window, only ?? ["router", "floor"], ct);
            WriteRestTable();
            return;
        }
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
                    foreach (var fps in ctx.Settings.RestFps)
                        results.Rest.Add(await PushingWindowAsync(server, "one camera pushing, nobody watching", target, pctx, frames, fps, settle, window, ct));
                var row = await Measure.FanoutAsync(pctx, target, new FanoutSpec { Scenario = "rest", SourcePrefix = "rest-burst", Format = "jpeg", ConsumersPerCamera = burst, Fps = 30 }, ct);
                ctx.Log($"  {server}: {burst} consumers at {row.FpsMedian} fps median, peak RSS {row.ServerPeakRssBytes / 1048576} MiB; they left");
                results.Rest.Add(new RestRow(server, $"peak with {burst} consumers", p.Name, row.WindowSeconds,
                    Math.Round(row.ServerCpuCores * 100, 2), row.ServerPeakRssBytes, row.Processes[0].Threads));
                var wait = after - window;
                if (wait > TimeSpan.Zero) await Task.Delay(wait, ct);
                results.Rest.Add(await RestWindowAsync(server, $"{after.TotalSeconds:0} s after {burst} consumers left", p, window, ct));
            }
            catch (Exception e) when (IsServerFailure(e))
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

    /// <summary>
    /// <c>--paired</c>: only the "one camera pushing, nobody watching" state, with Router and the floor (of
    /// <paramref name="servers"/>) running at the same time, each with its own camera at each rate of
    /// <c>--rest-fps</c>, measured over the same window, so that the machine's mode of the moment (which moves the
    /// cost of the same receive by 3× within minutes here) is the same for both.
    /// </summary>
    private async Task RestPairedAsync(BenchContext pctx, FrameSet frames, TimeSpan settle, TimeSpan window, IReadOnlyCollection<string> servers, CancellationToken ct)
    {
        var names = new[] { "router", "floor" }.Where(servers.Contains).ToList();
        if (names.Count == 0)
        {
            results.Notes.Add("rest --paired: nothing to measure (it pairs router and floor; --servers named neither)");
            return;
        }
        var targets = new List<(string Server, Target Target)>();
        try
        {
            foreach (var server in names)
                targets.Add((server, server == "floor" ? await Target.StartFloorAsync(pctx, ct) : await Target.StartRouterAsync(pctx, ct)));
            await Task.Delay(settle, ct);
            foreach (var fps in ctx.Settings.RestFps)
            {
                var rows = await Task.WhenAll(targets.Select(t => PushingWindowAsync(t.Server, "one camera pushing, nobody watching (paired)",
                    t.Target, pctx, frames, fps, settle, window, ct)));
                results.Rest.AddRange(rows);
                if (rows.Length == 2 && rows[1].CpuPercentOfCore > 0)
                    ctx.Log($"  paired at {fps} fps: {rows[0].Server} / {rows[1].Server} = {rows[0].CpuPercentOfCore / rows[1].CpuPercentOfCore:0.00}");
            }
        }
        catch (Exception e) when (IsServerFailure(e))
        {
            results.Notes.Add($"rest paired: failed: {e.Message}");
            ctx.Log($"  rest paired: failed: {e.Message}");
        }
        finally
        {
            foreach (var (_, target) in targets) await target.DisposeAsync();
        }
    }

    /// <summary>
    /// One camera of a new source pushing <paramref name="fps"/> frames a second of the peer clip, nobody watching: the
    /// window starts <paramref name="settle"/> after the camera's first frame; the row's camera fps is what it sent
    /// during the window. Server messages to the camera during the window (errors such as rate_limited, warnings such as
    /// frames_dropped) are noted.
    /// </summary>
    private async Task<RestRow> PushingWindowAsync(string server, string state, Target target, BenchContext pctx, FrameSet frames,
        double fps, TimeSpan settle, TimeSpan window, CancellationToken ct)
    {
        await using var device = new Device(new CameraLedger($"rest-cam-{fps:0.##}", "main"), frames, fps, 0);
        await device.ConnectAsync(target.WsBase, pctx.ApiKey, ct);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sending = Task.Run(() => device.RunAsync(stop.Token), CancellationToken.None);
        try
        {
            await Task.Delay(settle, ct);
            var (sent, errors) = (device.Sent, device.Errors);
            var row = await RestWindowAsync(server, state, target.Front, window, ct, () => device.Sent - sent);
            if (device.Errors > errors)
            {
                var note = $"rest {server} at {fps} fps: {device.Errors - errors} server message(s) to the camera in the window (errors or warnings), last: {device.LastError}";
                lock (results.Notes) results.Notes.Add(note); // --paired: two windows at once
            }
            return row;
        }
        finally
        {
            await stop.CancelAsync();
            await sending;
        }
    }

    /// <summary>
    /// Measures <paramref name="p"/> over <paramref name="window"/>; with <paramref name="framesSent"/> (a camera pushing:
    /// the frames it sent since the window started, read at its end) also the camera's rate and the CPU per frame.
    /// </summary>
    private async Task<RestRow> RestWindowAsync(string server, string state, ServerProcess p, TimeSpan window, CancellationToken ct,
        Func<long>? framesSent = null)
    {
        var a = p.Sample();
        var switches = ProcSample.ReadThreadSwitches(p.Pid);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await Task.Delay(window, ct);
        var b = p.Sample();
        var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
        var cpu = Math.Round((b.CpuSeconds - a.CpuSeconds) / seconds * 100, 2);
        var user = Math.Round((b.UserSeconds - a.UserSeconds) / seconds * 100, 2);
        var wakeups = Math.Round(ProcSample.WakeupsPerSecond(switches, ProcSample.ReadThreadSwitches(p.Pid), seconds), 1);
        var fps = framesSent is null ? double.NaN : Math.Round(framesSent() / seconds, 1);
        var row = new RestRow(server, state, p.Name, Math.Round(seconds, 1), cpu, b.RssBytes, b.Threads, wakeups, user, fps);
        ctx.Log($"  {server} {state}{(framesSent is null ? "" : $" ({fps} fps)")}: {cpu} % of a core ({user} % user), {wakeups} wake-ups/s, " +
                $"{(framesSent is null ? "" : $"{row.CpuMicrosecondsPerFrame} µs per frame, ")}RSS {b.RssBytes / 1048576} MiB, {b.Threads} threads");
        return row;
    }
}
