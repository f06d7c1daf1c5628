using System.Diagnostics;
using System.Net;
using Router.Bench.Infra;
using Router.Bench.Load;
using Router.Bench.Report;

namespace Router.Bench.Scenarios;

/// <summary>What to run against a target for one measurement window.</summary>
internal sealed record FanoutSpec
{
    public required string Scenario { get; init; }
    public required string SourcePrefix { get; init; }
    public required string Format { get; init; }
    public int Cameras { get; init; } = 1;
    public int ConsumersPerCamera { get; init; } = 1;
    public double Fps { get; init; } = 30;
    /// <summary>Consumers of camera 0 that read slowly (S3).</summary>
    public int SlowConsumers { get; init; }
    public TimeSpan SlowInterval { get; init; } = TimeSpan.FromMilliseconds(500);
    public int SlowReceiveBufferBytes { get; init; } = 16 * 1024;
    /// <summary>After the window: stall the slow consumers this long, then resume and check newest-on-resume.</summary>
    public TimeSpan Stall { get; init; }
    /// <summary>More query parameters of every consumer's stream URL (e.g. <c>&amp;width=320</c>, a variant).</summary>
    public string ConsumerQuery { get; init; } = "";
}

/// <summary>Runs one measurement: connect consumers and devices, warm up, measure a fixed window, tear down.</summary>
internal static class Measure
{
    private const int ConnectParallelism = 32;

    public static async Task<FanoutRow> FanoutAsync(BenchContext ctx, Target target, FanoutSpec spec, CancellationToken ct,
        Func<Task>? duringWindow = null, Func<Task>? afterWindow = null)
    {
        var row = new FanoutRow
        {
            Scenario = spec.Scenario, Server = target.Name, Format = spec.Format, Cameras = spec.Cameras,
            Consumers = spec.Cameras * spec.ConsumersPerCamera, SlowConsumers = spec.SlowConsumers, TargetFps = spec.Fps,
            WindowSeconds = ctx.Settings.WindowSeconds,
        };
        var run = new RunState { Frames = ctx.Frames };
        var ledgers = Enumerable.Range(0, spec.Cameras)
            .Select(i => new CameraLedger(spec.Cameras == 1 ? spec.SourcePrefix : $"{spec.SourcePrefix}-{i:000}", "main")).ToList();
        var consumers = new List<Consumer>();
        var id = 0;
        foreach (var ledger in ledgers)
            for (var j = 0; j < spec.ConsumersPerCamera; j++)
            {
                var slow = ledger == ledgers[0] && j < spec.SlowConsumers;
                consumers.Add(new Consumer(id++, ledger, spec.Format, run, slow ? spec.SlowInterval : TimeSpan.Zero) { ExtraQuery = spec.ConsumerQuery });
            }
        var devices = ledgers.Select((l, i) => target.IsGo2rtc
            ? (IFrameSource)new StreamFeeder(l, ctx.Frames, spec.Fps, i * 7, target.FeedPort)
            : new Device(l, ctx.Frames, spec.Fps, i * 7)).ToList();
        using var stopAll = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var connected = new List<Consumer>();
        var failures = 0;
        string? firstFailure = null;
        try
        {
            var sw = Stopwatch.StartNew();
            await Parallel.ForEachAsync(consumers, new ParallelOptions { MaxDegreeOfParallelism = ConnectParallelism, CancellationToken = ct },
                async (c, token) =>
                {
                    var options = c.IsSlow ? new ConnectOptions(IPAddress.Loopback, spec.SlowReceiveBufferBytes, 4096) : new ConnectOptions(IPAddress.Loopback);
                    try
                    {
                        if (target.IsGo2rtc) await c.ConnectGo2rtcAsync(target.WsBase, Target.Go2rtcStream, options, token);
                        else await c.ConnectAsync(target.WsBase, ctx.ApiKey, options, null, token);
                        lock (connected) connected.Add(c);
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
                    {
                        Interlocked.Increment(ref failures);
                        firstFailure ??= e.Message;
                    }
                });
            row.ConsumersConnected = connected.Count;
            if (failures > 0) row.Notes.Add($"{failures} consumers failed to connect (first: {firstFailure})");
            ctx.Log($"  {connected.Count}/{consumers.Count} consumers connected in {sw.Elapsed.TotalSeconds:0.0} s");
            if (connected.Count == 0) throw new InvalidOperationException($"no consumer could connect: {firstFailure}");
            foreach (var c in connected) c.Start(stopAll.Token);

            await Parallel.ForEachAsync(devices, new ParallelOptions { MaxDegreeOfParallelism = ConnectParallelism, CancellationToken = ct },
                async (d, token) => await d.ConnectAsync(target.WsBase, ctx.ApiKey, token));
            var sending = devices.Select(d => Task.Run(() => d.RunAsync(stopAll.Token), CancellationToken.None)).ToList();

            await Task.Delay(ctx.Warmup, ct);

            // The window.
            var peakReset = target.Processes.Select(p => p.ResetPeak()).ToList();
            var before = target.Processes.Select(p => p.Sample()).ToList();
            var childrenBefore = target.Processes.SelectMany(p => ProcSample.Descendants(p.Pid)).Distinct()
                .Select(pid => (Pid: pid, Sample: ProcSample.Read(pid))).ToList();
            var clientBefore = ProcSample.Read(Environment.ProcessId);
            var machineBefore = MachineSample.Read();
            var sentBefore = devices.Sum(d => d.Sent);
            var skippedBefore = devices.Sum(d => d.Skipped);
            var seqBefore = ledgers.Select(l => l.NewestSeq).ToArray();
            var windowStart = Stopwatch.GetTimestamp();
            run.Start();
            var windowTask = Task.Delay(ctx.Window, ct);
            if (duringWindow is not null) await duringWindow();
            await windowTask;
            run.Stop();
            if (afterWindow is not null) await afterWindow();
            var seconds = Stopwatch.GetElapsedTime(windowStart).TotalSeconds;
            var after = target.Processes.Select(p => p.Sample()).ToList();
            // Children alive through the window (still readable, and no less CPU: not exited and the pid reused).
            var childCpu = childrenBefore.Select(c => (c.Sample, After: ProcSample.Read(c.Pid)))
                .Where(c => c.After.Threads > 0 && c.After.CpuSeconds >= c.Sample.CpuSeconds)
                .Sum(c => c.After.CpuSeconds - c.Sample.CpuSeconds);
            var clientAfter = ProcSample.Read(Environment.ProcessId);
            var machineAfter = MachineSample.Read();
            var seqAfter = ledgers.Select(l => l.NewestSeq).ToArray();
            row.WindowSeconds = Math.Round(seconds, 3);
            row.DeviceFramesSent = devices.Sum(d => d.Sent) - sentBefore;
            row.DeviceSlotsSkipped = devices.Sum(d => d.Skipped) - skippedBefore;
            row.DeviceErrors = devices.Sum(d => d.Errors);
            row.DeviceLastError = devices.Select(d => d.LastError).FirstOrDefault(e => e is not null);

            for (var i = 0; i < target.Processes.Count; i++)
            {
                var p = target.Processes[i];
                var cpu = after[i].CpuSeconds - before[i].CpuSeconds;
                row.Processes.Add(new ProcDelta(p.Name, p.Pid, p.AllowedCpus, Math.Round(cpu, 2), Math.Round(cpu / seconds, 3),
                    Math.Round(after[i].UserSeconds - before[i].UserSeconds, 2), Math.Round(after[i].SysSeconds - before[i].SysSeconds, 2),
                    after[i].PeakRssBytes, after[i].RssBytes, after[i].ReadBytes - before[i].ReadBytes,
                    after[i].WriteBytes - before[i].WriteBytes, after[i].Threads, peakReset[i]));
            }
            row.ServerCpuSeconds = Math.Round(row.Processes.Sum(p => p.CpuSeconds), 2);
            row.ServerCpuCores = Math.Round(row.ServerCpuSeconds / seconds, 3);
            row.ServerPeakRssBytes = row.Processes.Sum(p => p.PeakRssBytes);
            row.ClientCpuSeconds = Math.Round(clientAfter.CpuSeconds - clientBefore.CpuSeconds, 2);
            row.ClientCpuCores = Math.Round(row.ClientCpuSeconds / seconds, 3);
            var total = machineAfter.TotalSeconds - machineBefore.TotalSeconds;
            row.MachineBusyFraction = total > 0 ? Math.Round((machineAfter.BusySeconds - machineBefore.BusySeconds) / total, 3) : 0;
            row.OtherCpuCores = Math.Round(Math.Max(0, (machineAfter.BusySeconds - machineBefore.BusySeconds) / seconds - row.ServerCpuCores - row.ClientCpuCores), 2);
            row.ServerSysFraction = row.ServerCpuSeconds > 0 ? Math.Round(row.Processes.Sum(p => p.SysSeconds) / row.ServerCpuSeconds, 3) : 0;
            row.ClientSaturated = row.ClientCpuCores > 0.9 * MachineInfo.Cores;
            if (row.OtherCpuCores > 0.2) row.Notes.Add($"other processes used {row.OtherCpuCores:0.00} cores during the window: figures are disturbed");
            row.MachineSaturated = row.MachineBusyFraction > 0.95;

            var fast = connected.Where(c => !c.IsSlow).ToList();
            var fps = fast.Select(c => c.Frames / seconds).Order().ToList();
            row.FramesDelivered = connected.Sum(c => c.Frames);
            row.BytesDelivered = connected.Sum(c => c.Bytes);
            row.FpsMin = Math.Round(fps.FirstOrDefault(), 2);
            row.FpsP10 = fps.Count == 0 ? 0 : Math.Round(fps[(fps.Count - 1) / 10], 2);
            row.FpsMedian = Math.Round(Median(fps), 2);
            row.FpsMax = Math.Round(fps.LastOrDefault(), 2);
            row.AggregateFps = Math.Round(row.FramesDelivered / seconds, 1);
            row.MBps = Math.Round(row.BytesDelivered / seconds / 1e6, 2);
            var h = run.LatencyFast;
            row.LatencySamples = h.TotalCount;
            if (h.TotalCount > 0)
            {
                row.LatencyP50Ms = Math.Round(h.GetValueAtPercentile(50) / 1000.0, 2);
                row.LatencyP99Ms = Math.Round(h.GetValueAtPercentile(99) / 1000.0, 2);
                row.LatencyMaxMs = Math.Round(HdrHistogram.HistogramExtensions.GetMaxValue(h) / 1000.0, 2);
            }
            // Drops of the fast consumers (the slow ones of S3 are reported in row.Slow).
            row.DroppedConflated = fast.Sum(c => c.Gaps);
            row.DroppedLate = fast.Sum(c => c.Late);
            row.OutOfOrder = fast.Sum(c => c.OutOfOrder);
            row.UnknownFrames = connected.Sum(c => c.Unknown);
            // Frames each consumer should have seen in the window and neither got nor saw skipped (in flight at the edges).
            long expected = 0;
            foreach (var c in fast) expected += seqAfter[ledgers.IndexOf(c.Ledger)] - seqBefore[ledgers.IndexOf(c.Ledger)];
            row.NotYetDelivered = Math.Max(0, expected - fast.Sum(c => c.Frames) - row.DroppedConflated);
            row.CpuSecondsPerGB = row.BytesDelivered > 0 ? Math.Round(row.ServerCpuSeconds / (row.BytesDelivered / 1e9), 3) : double.NaN;
            row.ChildCpuCores = Math.Round(childCpu / seconds, 3);
            row.CpuSecondsPerGBWithChildren = row.BytesDelivered > 0 ? Math.Round((row.ServerCpuSeconds + childCpu) / (row.BytesDelivered / 1e9), 3) : double.NaN;
            row.FormatCheck = run.FormatCheck;
            var closed = connected.Count(c => c.Closed is not null);
            if (closed > 0) row.Notes.Add($"{closed} consumers were closed by the server (first: {connected.First(c => c.Closed is not null).Closed})");
            if (row.DeviceErrors > 0) row.Notes.Add($"device errors: {row.DeviceErrors} (last: {row.DeviceLastError})");
            if (row.ClientSaturated) row.Notes.Add($"LOAD GENERATOR SATURATED: {row.ClientCpuCores:0.00} of {MachineInfo.Cores} cores");
            if (row.MachineSaturated) row.Notes.Add($"machine CPU {row.MachineBusyFraction:P0} busy: server and load generator compete for the {MachineInfo.Cores} cores");

            if (spec.SlowConsumers > 0)
                row.Slow = await SlowAsync(ctx, target, spec, run, connected.Where(c => c.IsSlow).ToList(), ledgers[0], seconds, ct);

            stopAll.Cancel();
            await Task.WhenAll(sending);
        }
        finally
        {
            stopAll.Cancel();
            foreach (var c in consumers) c.Abort();
            foreach (var d in devices) await d.DisposeAsync();
        }
        return row;
    }

    /// <summary>
    /// S3's slow consumers: their steady-state figures, then a stall of <see cref="FanoutSpec.Stall"/> and a resume. At the
    /// resume the kernel's socket queues between the server and each slow consumer are read from /proc/net/tcp; frames
    /// delivered after the resume that were sent before it are the backlog; the backlog minus what fits in the kernel
    /// queues is what the server process held. The first frame that starts beyond the kernel-queued bytes shows whether
    /// the server kept the newest frame (its staleness, in frames, against the newest frame sent at the resume).
    /// </summary>
    private static async Task<SlowStats> SlowAsync(BenchContext ctx, Target target, FanoutSpec spec, RunState run, List<Consumer> slow,
        CameraLedger ledger, double seconds, CancellationToken ct)
    {
        var fps = slow.Select(c => c.Frames / seconds).Order().ToList();
        var staleness = slow.Where(c => c.Frames > 0).Select(c => (double)c.StalenessSum / c.Frames).DefaultIfEmpty(0).Average();
        var p50 = run.LatencySlow.TotalCount > 0 ? run.LatencySlow.GetValueAtPercentile(50) / 1000.0 : 0;
        foreach (var c in slow) c.Pause();
        await Task.Delay(spec.Stall, ct);
        var queues = TcpQueues.Read();
        var newest = ledger.NewestSeq;
        var kernel = slow.ToDictionary(c => c, c => TcpQueues.Between(queues, target.Port, c.LocalEndPoint));
        foreach (var c in slow) c.ResumeAndRecord();
        await Task.Delay(TimeSpan.FromSeconds(2), ct);
        var meanMessage = ctx.Frames.MeanBytes + FrameHeaderBytes(spec.Format, ctx.Frames.MeanBytes);
        var backlog = new List<double>();
        var held = new List<double>();
        var kernelFrames = new List<double>();
        long staleFromServerMax = 0, freshLagMax = 0;
        var measured = 0;
        foreach (var c in slow)
        {
            var log = c.ResumeLog.ToList();
            if (log.Count == 0) continue;
            measured++;
            var stale = log.Count(r => r.Seq <= newest);
            var k = kernel[c];
            var kf = k / meanMessage;
            backlog.Add(stale);
            kernelFrames.Add(kf);
            held.Add(Math.Max(0, stale - Math.Floor(kf)));
            // Frames that were not yet in a kernel queue at the resume came from the server process (Kestrel's output
            // buffer or Router/the floor): how many of them were more than 2 frames behind the newest, before a fresh one?
            var beyond = log.Where(r => r.StartOffset >= k).ToList();
            var staleFromServer = beyond.TakeWhile(r => newest - r.Seq > 2).Count();
            staleFromServerMax = Math.Max(staleFromServerMax, staleFromServer);
            var fresh = beyond.Skip(staleFromServer).FirstOrDefault();
            freshLagMax = Math.Max(freshLagMax, fresh == default ? long.MaxValue / 2 : Math.Max(0, newest - fresh.Seq));
        }
        ctx.Log($"  slow consumers: {measured} resumed; kernel queued {kernel.Values.DefaultIfEmpty(0).Average() / 1024:0} KiB mean; backlog {backlog.DefaultIfEmpty(0).Average():0.0} frames mean");
        return new SlowStats(slow.Count, Math.Round(Median(fps), 2), Math.Round(p50, 1), Math.Round(staleness, 1), slow.Sum(c => c.Gaps),
            spec.Stall.TotalSeconds, Math.Round(kernel.Values.DefaultIfEmpty(0).Average() / 1024, 1), Math.Round(kernelFrames.DefaultIfEmpty(0).Average(), 2),
            Math.Round(backlog.DefaultIfEmpty(0).Average(), 2), backlog.DefaultIfEmpty(0).Max(),
            Math.Round(held.DefaultIfEmpty(0).Average(), 2), held.DefaultIfEmpty(0).Max(), staleFromServerMax, freshLagMax, measured,
            "held = frames delivered after the resume that were sent before it, minus floor(kernel-queued bytes / mean message); " +
            "stale from server = frames not yet in a kernel queue at the resume and > 2 behind the newest, served before a fresh one (1 = the frame in flight); " +
            "fresh lag = frames between the newest at resume and the first fresh frame served");
    }

    private static double FrameHeaderBytes(string format, double jpeg) => format == "json" ? jpeg / 3 + 130 : 30;

    public static double Median(IReadOnlyList<double> sorted) =>
        sorted.Count == 0 ? 0 : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}
