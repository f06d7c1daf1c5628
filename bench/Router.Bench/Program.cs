using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Router.Bench.Floor;
using Router.Bench.Infra;
using Router.Bench.Media;
using Router.Bench.Report;
using Router.Bench.Scenarios;

namespace Router.Bench;

/// <summary>
/// <c>Router.Bench --scenario fanout|many|slow|crossnode|idle|all|hostile [--quick]</c>: starts the server under test as separate
/// processes (Router standalone, the Router cluster for S4, and the floor broadcaster, which is this executable with
/// <c>--serve-floor</c>), drives them from this process with real JPEG frames through the public WebSocket protocols,
/// prints tables and writes JSON and PNG charts.
/// </summary>
internal static class Program
{
    private static readonly string[] AllScenarios = ["fanout", "many", "slow", "crossnode", "idle"];

    private static Task<int> Main(string[] args)
    {
        var scenario = new Option<string>("--scenario") { Description = "fanout (S1), many (S2), slow (S3), crossnode (S4), idle (S5) or all; not in all: hostile, raw, variants, peer, rest", DefaultValueFactory = _ => "all" };
        scenario.AcceptOnlyFromAmong([.. AllScenarios, "all", "hostile", "raw", "variants", "peer", "rest"]);
        // peer and rest (not part of all): go2rtc beside the floor and Router, and the cost at rest (Scenarios/Peer.cs, Rest.cs).
        var go2rtc = new Option<string?>("--go2rtc") { Description = "peer/rest: the go2rtc binary (default ../shared/peers/go2rtc/go2rtc)" };
        var repeat = new Option<int?>("--repeat") { Description = "peer: runs of each point, interleaved (default 1)" };
        var paired = new Option<bool>("--paired") { Description = "peer: run the servers of each point at the same time, each with its own camera and consumers, so that all see the same machine (default: one after another); rest: only \"one camera pushing\", Router and the floor at the same time" };
        var restSeconds = new Option<double?>("--rest-seconds") { Description = "rest: seconds of each at-rest window (default 30, quick 10)" };
        var restSettle = new Option<double?>("--rest-settle") { Description = "rest: seconds after start (or after the camera started) before a window (default 40, quick 5)" };
        var restFps = new Option<double[]?>("--rest-fps") { Description = "rest: camera rates of the \"one camera pushing, nobody watching\" state, one window each (default 30; 1 to 500, the gateway's device messages/s)", AllowMultipleArgumentsPerToken = true };
        restFps.Validators.Add(r =>
        {
            foreach (var f in r.GetValueOrDefault<double[]?>() ?? [])
                if (!(f >= 1 && f <= 500)) r.AddError($"--rest-fps wants rates from 1 to 500 fps, got {f}."); // NaN fails both
        });
        var restCluster = new Option<bool>("--rest-cluster-only") { Description = "rest: only the local cluster (3 nodes + 2 gateways), not standalone Router and go2rtc" };
        // hostile (not part of all): a normal tenant streams while a hostile tenant attacks (Scenarios/Hostile.cs).
        var attacks = new Option<string[]?>("--attacks") { Description = "hostile: attacks to run (bomb bombx8 reencodeflood frameflood authflood heldbodies subscriptionflood subscriptionfloodatlimits; default all)", AllowMultipleArgumentsPerToken = true };
        var attackSeconds = new Option<double?>("--attack-seconds") { Description = "hostile: length of each flood in seconds (default 10)" };
        var settleSeconds = new Option<double?>("--settle-seconds") { Description = "hostile: seconds RSS is followed after the last attack (default 80)" };
        var podLimit = new Option<int?>("--pod-limit-mib") { Description = "hostile: imitated pod memory limit in MiB (default 2048, deploy/k8s node; 0 = none)" };
        var quick = new Option<bool>("--quick") { Description = "short windows (3 s) and 2,000 idle subscribers: a smoke run" };
        var repo = new Option<string?>("--repo") { Description = "repository whose Release build of src/Router.Node (every role) is run (default: the one containing the bench)" };
        var build = new Option<bool>("--build") { Description = "dotnet build -c Release the server projects in --repo first" };
        var output = new Option<string?>("--out") { Description = "JSON results file (default docs/benchmarks/results.json, or results-quick.json with --quick)" };
        var charts = new Option<string?>("--charts") { Description = "directory for the PNG charts (default docs/benchmarks)" };
        var media = new Option<string?>("--media") { Description = "video to take frames from (default ../shared/media/vtest.avi, else assets/media/lobby.avi)" };
        var window = new Option<double?>("--window") { Description = "measurement window in seconds (default 10, peer 20, quick 3)" };
        var warmup = new Option<double?>("--warmup") { Description = "warm-up before each window in seconds (default 5, peer 60: the first minute of a fresh Router process is tiered JIT; quick 1)" };
        // A window must be a real stretch of time and a warm-up may be none; both at most an hour (NaN, infinity and
        // negative values would otherwise reach TimeSpan.FromSeconds or divide by a zero window).
        window.Validators.Add(r => RequireSeconds(r, r.GetValueOrDefault<double?>(), "--window", allowZero: false));
        warmup.Validators.Add(r => RequireSeconds(r, r.GetValueOrDefault<double?>(), "--warmup", allowZero: true));
        var consumers = new Option<int[]?>("--consumers") { Description = "S1 consumer counts (default 10 100 500)", AllowMultipleArgumentsPerToken = true };
        var formats = new Option<string[]?>("--formats") { Description = "S1 formats (default binary json); the first one is used by S2 and S3", AllowMultipleArgumentsPerToken = true };
        var servers = new Option<string[]?>("--servers") { Description = "router and/or floor (default both); peer: any of go2rtc, floor, router (default all); rest: any of router, floor, go2rtc, cluster (default all)", AllowMultipleArgumentsPerToken = true };
        var idle = new Option<int?>("--idle-count") { Description = "S5 idle subscribers (default 10000, quick 2000)" };
        var cameras = new Option<int?>("--cameras") { Description = "S2 cameras (default 200)" };
        var profile = new Option<string?>("--profile") { Description = "perf or dotnet-trace: profile the first window of each server" };
        profile.AcceptOnlyFromAmong("perf", "dotnet-trace");
        var profileDir = new Option<string?>("--profile-dir") { Description = "where profiles go (default /tmp/router-bench-profiles)" };
        var logDir = new Option<string?>("--log-dir") { Description = "server logs (default /tmp/router-bench-logs)" };
        var routerEnv = new Option<string[]?>("--router-env") { Description = "KEY=VALUE environment variables for the Router processes (A/B runs of runtime knobs)", AllowMultipleArgumentsPerToken = true };
        var floorEnv = new Option<string[]?>("--floor-env") { Description = "KEY=VALUE environment variables for the floor process (e.g. Router's runtime knobs)", AllowMultipleArgumentsPerToken = true };
        var routerBEnv = new Option<string[]?>("--router-b-env") { Description = "peer: also run a second Router (router-b, jpeg) with these KEY=VALUE variables on top of --router-env, an A/B in the same run (with --paired, in the same window)", AllowMultipleArgumentsPerToken = true };
        routerBEnv.Validators.Add(r => RequireKeyValues(r, r.GetValueOrDefault<string[]?>(), "--router-b-env"));
        routerEnv.Validators.Add(r => RequireKeyValues(r, r.GetValueOrDefault<string[]?>(), "--router-env"));
        floorEnv.Validators.Add(r => RequireKeyValues(r, r.GetValueOrDefault<string[]?>(), "--floor-env"));
        var serveFloor = new Option<bool>("--serve-floor") { Description = "internal: run the floor broadcaster (used by the bench itself)" };
        var port = new Option<int>("--port") { Description = "internal: port of --serve-floor" };

        var root = new RootCommand("Router benchmark: fan-out, many cameras, slow consumers, cross-node, idle subscribers; Router against a bare Kestrel floor.")
        {
            scenario, quick, repo, build, output, charts, media, window, warmup, consumers, formats, servers, idle, cameras, profile, profileDir, logDir, routerEnv, routerBEnv, floorEnv, serveFloor, port,
            attacks, attackSeconds, settleSeconds, podLimit, go2rtc, repeat, paired, restSeconds, restSettle, restFps, restCluster,
        };
        root.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(serveFloor)) return await FloorServer.RunAsync(parse.GetValue(port), ct);
            var benchRepo = FindRepo(AppContext.BaseDirectory) ?? Directory.GetCurrentDirectory();
            var isQuick = parse.GetValue(quick);
            // peer compares steady states: each point starts a fresh server, and a fresh Router's tiered JIT still compiles
            // its periodic paths (status ticks, rebalance, gossip) for a minute or more (docs/benchmarks.md, issue 11).
            var isPeer = parse.GetValue(scenario) == "peer" && !isQuick;
            var repoPath = Path.GetFullPath(parse.GetValue(repo) ?? benchRepo);
            var docs = Path.Combine(benchRepo, "docs/benchmarks");
            var settings = new BenchSettings
            {
                Scenario = parse.GetValue(scenario)!,
                Quick = isQuick,
                Repo = repoPath,
                BenchRepo = benchRepo,
                OutJson = parse.GetValue(output) ?? Path.Combine(docs, isQuick ? "results-quick.json" : "results.json"),
                ChartsDir = parse.GetValue(charts) ?? docs,
                MediaPath = parse.GetValue(media) ?? FindMedia(benchRepo, repoPath),
                WindowSeconds = parse.GetValue(window) ?? (isQuick ? 3 : isPeer ? 20 : 10),
                WarmupSeconds = parse.GetValue(warmup) ?? (isQuick ? 1 : isPeer ? 60 : 5),
                ConsumerCounts = parse.GetValue(consumers) is { Length: > 0 } c ? c : null,
                Formats = parse.GetValue(formats) is { Length: > 0 } f ? f : ["binary", "json"],
                Servers = parse.GetValue(servers) is { Length: > 0 } s ? s : ["router", "floor"],
                IdleCount = parse.GetValue(idle) ?? (isQuick ? 2_000 : 10_000),
                Cameras = parse.GetValue(cameras) ?? 200,
                Profile = parse.GetValue(profile),
                ProfileDir = parse.GetValue(profileDir) ?? "/tmp/router-bench-profiles",
                LogDir = parse.GetValue(logDir) ?? "/tmp/router-bench-logs",
                RouterEnv = parse.GetValue(routerEnv) ?? [],
                RouterBEnv = parse.GetValue(routerBEnv) ?? [],
                FloorEnv = parse.GetValue(floorEnv) ?? [],
                Go2rtcPath = Path.GetFullPath(parse.GetValue(go2rtc) ?? FindShared(benchRepo, "peers/go2rtc/go2rtc") ?? Path.Combine(benchRepo, "../shared/peers/go2rtc/go2rtc")),
                Repeat = Math.Max(1, parse.GetValue(repeat) ?? 1),
                PeerServers = parse.GetValue(servers) is { Length: > 0 } ps ? ps : null,
                Paired = parse.GetValue(paired),
                RestSeconds = parse.GetValue(restSeconds) ?? (isQuick ? 10 : 30),
                RestSettleSeconds = parse.GetValue(restSettle) ?? (isQuick ? 5 : 40),
                RestFps = parse.GetValue(restFps) is { Length: > 0 } rf ? rf : [30],
                RestClusterOnly = parse.GetValue(restCluster),
            };
            if (settings.Scenario == "raw") // not part of all: raw frame encode cost and ingest rate (Scenarios/Raw.cs)
            {
                if (parse.GetValue(build) && !await BuildServersAsync(settings.Repo, Console.Out, ct)) return 2;
                try { return await RawScenario.Create(settings, parse.GetValue(output) ?? Path.Combine(docs, "raw.json")).RunAsync(ct); }
                finally { ServerProcess.KillAll(); }
            }
            if (settings.Scenario == "hostile")
            {
                var hostile = new HostileSettings
                {
                    Attacks = parse.GetValue(attacks) ?? [],
                    AttackDuration = TimeSpan.FromSeconds(parse.GetValue(attackSeconds) ?? 10),
                    Settle = TimeSpan.FromSeconds(parse.GetValue(settleSeconds) ?? 80),
                    PodLimitBytes = (parse.GetValue(podLimit) ?? 2048) * 1024L * 1024L,
                    OutJson = parse.GetValue(output) ?? Path.Combine(docs, "hostile.json"),
                };
                return await RunHostileAsync(settings, hostile, parse.GetValue(build), ct);
            }
            return await RunAsync(settings, args, parse.GetValue(build), ct);
        });
        AppDomain.CurrentDomain.ProcessExit += (_, _) => ServerProcess.KillAll();
        return root.Parse(args).InvokeAsync();
    }

    private static async Task<int> RunAsync(BenchSettings settings, string[] args, bool build, CancellationToken ct)
    {
        var output = Console.Out;
        var results = new BenchResults
        {
            StartedUtc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
            Command = "Router.Bench " + string.Join(' ', args),
        };
        try
        {
            if (build && !await BuildServersAsync(settings.Repo, output, ct)) return 2;
            var sw = Stopwatch.StartNew();
            output.WriteLine($"Loading frames from {settings.MediaPath} …");
            var frames = FrameSet.Load(settings.MediaPath, 150, 85);
            var ctx = new BenchContext(settings, frames, output);
            Describe(ctx, results);
            var runner = new ScenarioRunner(ctx, results);
            var chosen = settings.Scenario == "all" ? AllScenarios : [settings.Scenario];
            try
            {
                foreach (var s in chosen)
                {
                    switch (s)
                    {
                        case "fanout": await runner.FanoutAsync(ct); break;
                        case "many": await runner.ManyAsync(ct); break;
                        case "slow": await runner.SlowAsync(ct); break;
                        case "crossnode": await runner.CrossNodeAsync(ct); break;
                        case "idle": await runner.IdleAsync(ct); break;
                        case "variants": await new VariantScenario(ctx, results).RunAsync(ct); break; // not part of all
                        case "peer": await runner.PeerAsync(ct); break;
                        case "rest": await runner.RestAsync(ct); break;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                output.WriteLine("Interrupted: writing what was measured so far.");
                results.Notes.Add("interrupted");
            }
            finally
            {
                ServerProcess.KillAll();
            }
            PrintSummary(ctx, results);
            if (results.Peer.Count > 0)
                foreach (var png in Charts.WritePeer(results.Peer, settings.ChartsDir)) output.WriteLine($"chart: {png}");
            if (results.Fanout.Any(r => r.Scenario == "S1"))
                foreach (var png in Charts.WriteFanout(results.Fanout, settings.ChartsDir)) output.WriteLine($"chart: {png}");
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(settings.OutJson))!);
            await File.WriteAllTextAsync(settings.OutJson, JsonSerializer.Serialize(results, JsonOptions), CancellationToken.None);
            output.WriteLine($"results: {settings.OutJson}");
            output.WriteLine($"total time {sw.Elapsed.TotalMinutes:0.0} min");
            return 0;
        }
        finally
        {
            ServerProcess.KillAll();
        }
    }

    private static async Task<int> RunHostileAsync(BenchSettings settings, HostileSettings hostile, bool build, CancellationToken ct)
    {
        try
        {
            if (build && !await BuildServersAsync(settings.Repo, Console.Out, ct)) return 2;
            Console.WriteLine($"Loading frames from {settings.MediaPath} …");
            var ctx = new BenchContext(settings, FrameSet.Load(settings.MediaPath, 150, 85), Console.Out);
            ctx.Out.WriteLine($"Machine: {MachineInfo.Cores} cores ({MachineInfo.CpuModel}), load average at start {LoadAverage()}; Router: {settings.Repo} at {GitHead(settings.Repo)}");
            return await new HostileScenario(ctx, hostile).RunAsync(ct);
        }
        finally
        {
            ServerProcess.KillAll();
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    private static void Describe(BenchContext ctx, BenchResults results)
    {
        var s = ctx.Settings;
        var cpus = MachineInfo.AllowedCpus(Environment.ProcessId);
        results.Machine["cores"] = MachineInfo.Cores;
        results.Machine["cpu_model"] = MachineInfo.CpuModel;
        results.Machine["memory_gib"] = Math.Round(MachineInfo.MemTotalBytes / 1073741824.0, 1);
        results.Machine["kernel"] = MachineInfo.Kernel;
        results.Machine["dotnet"] = Environment.Version.ToString();
        results.Machine["load_generator_cpus"] = cpus;
        results.Machine["loadavg_at_start"] = LoadAverage();
        results.Machine["placement"] = "servers and the load generator run as separate processes on the same machine, unpinned: they share all its cores";
        results.Media["source"] = s.MediaPath;
        results.Media["frames"] = ctx.Frames.Frames.Count;
        results.Media["width"] = ctx.Frames.Width;
        results.Media["height"] = ctx.Frames.Height;
        results.Media["jpeg_quality"] = ctx.Frames.Quality;
        results.Media["mean_jpeg_bytes"] = Math.Round(ctx.Frames.MeanBytes);
        results.Settings["scenario"] = s.Scenario;
        results.Settings["quick"] = s.Quick;
        results.Settings["window_seconds"] = s.WindowSeconds;
        results.Settings["warmup_seconds"] = s.WarmupSeconds;
        results.Settings["repo"] = s.Repo;
        results.Settings["router_commit"] = GitHead(s.Repo);
        results.Settings["bench_commit"] = GitHead(s.BenchRepo);
        results.Targets["go_relay_ws50_cpu_s_per_gb"] = ScenarioRunner.TargetWs50;
        results.Targets["go_relay_http500_cpu_s_per_gb"] = ScenarioRunner.TargetHttp500;
        results.Targets["json_factor"] = 1.5;
        results.Targets["floor_efficiency_min"] = 0.8;
        var o = ctx.Out;
        o.WriteLine();
        o.WriteLine($"Machine: {MachineInfo.Cores} cores ({MachineInfo.CpuModel}), {MachineInfo.MemTotalBytes / 1073741824.0:0.0} GiB RAM, Linux {MachineInfo.Kernel}, .NET {Environment.Version}");
        o.WriteLine($"Load average at start: {LoadAverage()} (other work on the machine disturbs the figures: see 'other cores')");
        o.WriteLine($"Cores: the load generator (this process, CPUs {cpus}) and each server process (CPUs as printed per row) run on the SAME {MachineInfo.Cores}-core machine, unpinned.");
        o.WriteLine($"Frames: {ctx.Frames.Frames.Count} × {ctx.Frames.Width}x{ctx.Frames.Height} JPEG q{ctx.Frames.Quality}, mean {ctx.Frames.MeanBytes / 1000:0.0} KB, from {s.MediaPath}");
        o.WriteLine($"Router: {s.Repo} at {results.Settings["router_commit"]}; window {s.WindowSeconds} s after {s.WarmupSeconds} s warm-up; logs in {s.LogDir}");
        o.WriteLine($"CPU-s/GB = server CPU seconds (utime+stime from /proc) / GB (1e9 bytes) of messages delivered to consumers. 'client cores' = load generator CPU; SAT = above 90% of the machine.");
        o.WriteLine();
    }

    private static void PrintSummary(BenchContext ctx, BenchResults r)
    {
        var o = ctx.Out;
        o.WriteLine();
        o.WriteLine("================ SUMMARY ================");
        o.WriteLine($"{MachineInfo.Cores}-core machine ({MachineInfo.CpuModel}); the load generator and the server processes share all {MachineInfo.Cores} cores. Frames: mean {ctx.Frames.MeanBytes / 1000:0.0} KB JPEG.");
        if (r.Fanout.Count > 0)
        {
            o.WriteLine();
            o.WriteLine("S1 fan-out (1 camera, 30 fps):");
            o.Write(Tables.Fanout(r.Fanout));
            o.WriteLine();
            o.WriteLine($"S1 Router vs floor; targets: binary ≤ {ScenarioRunner.TargetWs50} CPU-s/GB (Go relay, 50 WS consumers; 500-consumer rows: ≤ {ScenarioRunner.TargetHttp500}, 500 HTTP consumers), JSON ≤ 1.5× that, ≥ 0.8× the floor's efficiency:");
            o.Write(Tables.VsFloor(r.FanoutVsFloor));
        }
        if (r.ManyCameras.Count > 0)
        {
            o.WriteLine();
            o.WriteLine("S2 many cameras:");
            o.Write(Tables.Fanout(r.ManyCameras));
        }
        if (r.SlowConsumers.Count > 0)
        {
            o.WriteLine();
            o.WriteLine("S3 slow consumers (fps and latency columns: the 90 fast consumers):");
            o.Write(Tables.Fanout(r.SlowConsumers));
            o.WriteLine();
            o.Write(Tables.Slow(r.SlowConsumers));
            o.WriteLine();
            o.Write(Tables.SlowVerdicts(r.SlowVerdicts));
        }
        if (r.CrossNode is not null)
        {
            o.WriteLine();
            o.WriteLine("S4 cross-node:");
            o.Write(Tables.CrossNode(r.CrossNode));
        }
        if (r.Idle.Count > 0)
        {
            o.WriteLine();
            o.WriteLine("S5 idle subscribers:");
            o.Write(Tables.Idle(r.Idle));
        }
        if (r.Peer.Count > 0)
        {
            o.WriteLine();
            o.WriteLine("Peer: go2rtc, the floor and Router (1 camera, 30 fps, the same bare JPEGs):");
            o.Write(Tables.Peer(r.Peer));
            o.WriteLine();
            o.Write(Tables.PeerVerdicts(r.PeerVsRouter));
        }
        if (r.Rest.Count > 0)
        {
            o.WriteLine();
            o.WriteLine("At rest (CPU: share of one core over the window; RSS at its end):");
            o.Write(Tables.Rest(r.Rest));
        }
        var saturated = r.Fanout.Concat(r.ManyCameras).Concat(r.SlowConsumers).Where(x => x.ClientSaturated).ToList();
        o.WriteLine();
        o.WriteLine(saturated.Count == 0
            ? "Load generator: never above 90% of the machine's cores in a window (see 'client cores')."
            : $"Load generator SATURATED in {saturated.Count} window(s): {string.Join(", ", saturated.Select(x => $"{x.Scenario} {x.Server} {x.Format} {x.Consumers}"))}; those rows understate the server.");
        var busy = r.Fanout.Concat(r.ManyCameras).Concat(r.SlowConsumers).Where(x => x.MachineSaturated).ToList();
        if (busy.Count > 0)
            o.WriteLine($"Machine CPU above 95% in {busy.Count} window(s) ({string.Join(", ", busy.Select(x => $"{x.Scenario} {x.Server} {x.Format} {x.Consumers}"))}): there fps and latency are bounded by the shared 2 cores, CPU-s/GB still compares.");
        foreach (var s in r.Skipped) o.WriteLine(s);
        foreach (var n in r.Notes) o.WriteLine("note: " + n);
    }

    private static async Task<bool> BuildServersAsync(string repo, TextWriter output, CancellationToken ct)
    {
        foreach (var project in new[] { "src/Router.Node/Router.Node.csproj" })
        {
            output.WriteLine($"Building {project} (Release) in {repo} …");
            var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = repo, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "build", project, "-c", "Release", "--nologo", "-v", "quiet" }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync(ct);
            var stderr = p.StandardError.ReadToEndAsync(ct);
            await p.WaitForExitAsync(ct);
            if (p.ExitCode != 0)
            {
                output.WriteLine(await stdout);
                output.WriteLine(await stderr);
                output.WriteLine($"build of {project} failed");
                return false;
            }
        }
        return true;
    }

    private static string LoadAverage()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "?"; }
    }

    /// <summary>Adds an error when <paramref name="value"/> is set and not a number of seconds in (0, 3600], or [0, 3600] with <paramref name="allowZero"/>.</summary>
    private static void RequireSeconds(System.CommandLine.Parsing.OptionResult result, double? value, string name, bool allowZero)
    {
        if (value is { } v && !(double.IsFinite(v) && (allowZero ? v >= 0 : v > 0) && v <= 3600))
            result.AddError($"{name} must be a number of seconds {(allowZero ? "from 0" : "above 0")} to 3600.");
    }

    /// <summary>Adds an error for each of <paramref name="pairs"/> that is not KEY=VALUE with a non-empty KEY.</summary>
    private static void RequireKeyValues(System.CommandLine.Parsing.OptionResult result, string[]? pairs, string name)
    {
        foreach (var pair in pairs ?? [])
            if (!Target.IsKeyValue(pair)) result.AddError($"{name} wants KEY=VALUE, got '{pair}'.");
    }

    private static string? FindRepo(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Router.sln"))) return dir.FullName;
        return null;
    }

    private static string FindMedia(string benchRepo, string repo) =>
        FindShared(benchRepo, "media/vtest.avi") ?? FindShared(repo, "media/vtest.avi") ?? Path.Combine(benchRepo, "assets/media/lobby.avi");

    /// <summary>The project's shared/ folder beside the checkout (../shared), or beside any parent (a git worktree in a subfolder).</summary>
    private static string? FindShared(string start, string relative)
    {
        for (var dir = new DirectoryInfo(start); dir?.Parent is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.Parent.FullName, "shared", relative);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>The short hash and subject of the HEAD commit of the repository, or "?" without git.</summary>
    internal static string GitHead(string repo)
    {
        try
        {
            var psi = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-C", repo, "log", "-1", "--format=%h %s" }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var line = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return line;
        }
        catch (System.ComponentModel.Win32Exception) { return "?"; }
    }
}
