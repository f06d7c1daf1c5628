using System.Text.Json;
using Router.Bench.Infra;

namespace Router.Bench.Scenarios;

/// <summary>A server under test: one process (standalone Router, the floor) or several (the cluster of S4).</summary>
internal sealed class Target : IAsyncDisposable
{
    private Target(string name, Uri httpBase, int port, IReadOnlyList<ServerProcess> processes)
    {
        Name = name;
        HttpBase = httpBase;
        WsBase = new Uri(httpBase.ToString().Replace("http://", "ws://", StringComparison.Ordinal));
        Port = port;
        Processes = processes;
    }

    public string Name { get; }

    /// <summary>go2rtc (its own WebSocket API, a pulled source fed by <see cref="Load.StreamFeeder"/>) or a Router-protocol server.</summary>
    public bool IsGo2rtc => Name == "go2rtc";

    /// <summary>go2rtc: the port its source reads the JPEG stream from.</summary>
    public int FeedPort { get; private init; }

    /// <summary>The one stream go2rtc serves here.</summary>
    public const string Go2rtcStream = "bench";

    public Uri HttpBase { get; }

    public Uri WsBase { get; }

    /// <summary>The port consumers and devices connect to.</summary>
    public int Port { get; }

    public IReadOnlyList<ServerProcess> Processes { get; }

    /// <summary>The process consumers connect to.</summary>
    public ServerProcess Front => Processes[^1];

    public static async Task<Target> StartRouterAsync(BenchContext ctx, CancellationToken ct) => await StartRouterAsync(ctx, "router", [], ct);

    /// <summary>Router standalone named <paramref name="name"/>, with <paramref name="moreEnv"/> (KEY=VALUE) on top of <c>--router-env</c>.</summary>
    public static async Task<Target> StartRouterAsync(BenchContext ctx, string name, IReadOnlyList<string> moreEnv, CancellationToken ct)
    {
        Require(ctx.NodeDll);
        var port = Ports.Free();
        var env = RouterEnv(ctx, ProfileEnv(ctx, new Dictionary<string, string> { ["ROUTER_DEMO_API_KEY"] = ctx.ApiKey }));
        var server = ServerProcess.Start(name, "dotnet",
            [ctx.NodeDll, "--urls", $"http://127.0.0.1:{port}", "--Router:Demo:PrintBanner=false", "--Logging:LogLevel:Default=Warning"],
            ExtraEnv(moreEnv, "--router-b-env", env), Path.GetDirectoryName(ctx.NodeDll)!, ctx.Settings.LogDir);
        return await ReadyAsync(new Target(name, new Uri($"http://127.0.0.1:{port}"), port, [server]), ct);
    }

    public static async Task<Target> StartFloorAsync(BenchContext ctx, CancellationToken ct)
    {
        var port = Ports.Free();
        var env = new Dictionary<string, string> { ["FLOOR_API_KEY"] = ctx.ApiKey };
        // Same GC mode as Router's runtimeconfig (ASP.NET apps default to server GC).
        env["DOTNET_gcServer"] = RouterUsesServerGc(ctx) ? "1" : "0";
        var server = ServerProcess.Start("floor", "dotnet", [ctx.BenchDll, "--serve-floor", "--port", port.ToString()],
            ExtraEnv(ctx.Settings.FloorEnv, "--floor-env", ProfileEnv(ctx, env)),
            Path.GetDirectoryName(ctx.BenchDll)!, ctx.Settings.LogDir);
        return await ReadyAsync(new Target("floor", new Uri($"http://127.0.0.1:{port}"), port, [server]), ct);
    }

    /// <summary>
    /// go2rtc (the peer in <c>../shared/peers/go2rtc/</c>) run from a scratch directory with a config of the peer's shape
    /// (<c>go2rtc.yaml</c> there: API on 127.0.0.1, RTSP off, one <c>exec:</c> stream) whose source is
    /// <c>cat</c> of a TCP stream the bench writes the same bare JPEGs into at the same pace as Router's device.
    /// go2rtc's own source (ffmpeg <c>-re</c> on a clip) would send the same bytes but not say when, so no latency could be measured.
    /// </summary>
    /// <exception cref="FileNotFoundException">No go2rtc binary.</exception>
    public static async Task<Target> StartGo2rtcAsync(BenchContext ctx, CancellationToken ct)
    {
        var binary = ctx.Settings.Go2rtcPath;
        if (!File.Exists(binary)) throw new FileNotFoundException($"go2rtc not found at {binary} (--go2rtc PATH)", binary);
        int port = Ports.Free(), feed = Ports.Free();
        var dir = Path.Combine(Path.GetTempPath(), "router-bench-go2rtc", port.ToString());
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "go2rtc.yaml"), $$"""
            # written by Router.Bench: the peer's go2rtc.yaml with the port and the source changed (the bench feeds the JPEGs)
            api: {listen: "127.0.0.1:{{port}}"}
            rtsp: {listen: ""}
            streams:
              {{Go2rtcStream}}: exec:bash -c "exec cat < /dev/tcp/127.0.0.1/{{feed}}"

            """, ct);
        var server = ServerProcess.Start("go2rtc", binary, ["-c", "go2rtc.yaml"], new Dictionary<string, string>(), dir, ctx.Settings.LogDir);
        var target = new Target("go2rtc", new Uri($"http://127.0.0.1:{port}"), port, [server]) { FeedPort = feed };
        try
        {
            await server.WaitReadyAsync(new Uri(target.HttpBase, "/api").ToString(), TimeSpan.FromSeconds(30), ct);
            return target;
        }
        catch
        {
            await target.DisposeAsync();
            throw;
        }
    }

    /// <summary>S4: Router.Node with role node (the camera shard) and with role gateway (consumers, devices), joined in one cluster.</summary>
    public static async Task<Target> StartClusterAsync(BenchContext ctx, CancellationToken ct)
    {
        Require(ctx.NodeDll);
        int nodeHttp = Ports.Free(), nodeRemote = Ports.Free(), gwHttp = Ports.Free(), gwRemote = Ports.Free();
        var seed = $"akka.tcp://router@127.0.0.1:{nodeRemote}";
        var node = ServerProcess.Start("node", "dotnet",
            [ctx.NodeDll, "--role", "node", "--urls", $"http://127.0.0.1:{nodeHttp}", $"--Router:Cluster:Port={nodeRemote}",
             $"--Router:Cluster:SeedNodes:0={seed}", "--Logging:LogLevel:Default=Warning"],
            RouterEnv(ctx, new Dictionary<string, string>()), Path.GetDirectoryName(ctx.NodeDll)!, ctx.Settings.LogDir);
        var processes = new List<ServerProcess> { node };
        try
        {
            await node.WaitReadyAsync($"http://127.0.0.1:{nodeHttp}/readyz", TimeSpan.FromSeconds(90), ct);
            var gateway = ServerProcess.Start("gateway", "dotnet",
                [ctx.NodeDll, "--role", "gateway", "--urls", $"http://127.0.0.1:{gwHttp}", $"--Router:Cluster:Port={gwRemote}",
                 $"--Router:Cluster:SeedNodes:0={seed}", "--Logging:LogLevel:Default=Warning",
                 "--Router:ApiKeys:0:Tenant=bench", $"--Router:ApiKeys:0:Sha256={ctx.ApiKeySha256}",
                 "--Router:ApiKeys:0:Scopes:0=ingest", "--Router:ApiKeys:0:Scopes:1=view", "--Router:ApiKeys:0:Name=bench"],
                RouterEnv(ctx, new Dictionary<string, string>()), Path.GetDirectoryName(ctx.NodeDll)!, ctx.Settings.LogDir);
            processes.Add(gateway);
            await gateway.WaitReadyAsync($"http://127.0.0.1:{gwHttp}/readyz", TimeSpan.FromSeconds(90), ct);
            var target = new Target("router-cluster", new Uri($"http://127.0.0.1:{gwHttp}"), gwHttp, processes)
            {
                NodeHttp = new Uri($"http://127.0.0.1:{nodeHttp}"),
            };
            return target;
        }
        catch
        {
            foreach (var p in processes) await p.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The shape of <c>deploy/local/cluster.sh up</c>: <paramref name="nodes"/> node processes (all seeds) and
    /// <paramref name="gateways"/> gateway processes on 127.0.0.1, without the script's pull source (at rest means no camera).
    /// Consumers and devices connect to the last gateway.
    /// </summary>
    /// <exception cref="TimeoutException">A member was not ready within 120 s.</exception>
    public static async Task<Target> StartLocalClusterAsync(BenchContext ctx, int nodes, int gateways, CancellationToken ct)
    {
        Require(ctx.NodeDll);
        var remoting = Enumerable.Range(0, nodes + gateways).Select(_ => Ports.Free()).ToArray();
        var http = Enumerable.Range(0, nodes + gateways).Select(_ => Ports.Free()).ToArray();
        var seeds = Enumerable.Range(0, nodes).Select(i => $"--Router:Cluster:SeedNodes:{i}=akka.tcp://router@127.0.0.1:{remoting[i]}").ToArray();
        var processes = new List<ServerProcess>();
        try
        {
            for (var i = 0; i < nodes + gateways; i++)
            {
                var gateway = i >= nodes;
                var args = new List<string>
                {
                    ctx.NodeDll, "--role", gateway ? "gateway" : "node", "--urls", $"http://127.0.0.1:{http[i]}", "--Router:Cluster:Hostname=127.0.0.1",
                    $"--Router:Cluster:Port={remoting[i]}", "--Logging:LogLevel:Default=Warning",
                };
                args.AddRange(seeds);
                if (gateway)
                    args.AddRange(["--Router:ApiKeys:0:Tenant=bench", $"--Router:ApiKeys:0:Sha256={ctx.ApiKeySha256}",
                        "--Router:ApiKeys:0:Scopes:0=ingest", "--Router:ApiKeys:0:Scopes:1=view", "--Router:ApiKeys:0:Name=bench"]);
                processes.Add(ServerProcess.Start(gateway ? $"gateway-{i - nodes}" : $"node-{i}", "dotnet", args,
                    RouterEnv(ctx, new Dictionary<string, string>()), Path.GetDirectoryName(ctx.NodeDll)!, ctx.Settings.LogDir));
            }
            for (var i = 0; i < processes.Count; i++)
                await processes[i].WaitReadyAsync($"http://127.0.0.1:{http[i]}/readyz", TimeSpan.FromSeconds(120), ct);
            return new Target("router-cluster", new Uri($"http://127.0.0.1:{http[^1]}"), http[^1], processes);
        }
        catch
        {
            foreach (var p in processes) await p.DisposeAsync();
            throw;
        }
    }

    /// <summary>The node's HTTP base in S4 (for its /metrics).</summary>
    public Uri? NodeHttp { get; private init; }

    private static async Task<Target> ReadyAsync(Target target, CancellationToken ct)
    {
        try
        {
            await target.Front.WaitReadyAsync(new Uri(target.HttpBase, "/readyz").ToString(), TimeSpan.FromSeconds(90), ct);
            return target;
        }
        catch
        {
            await target.DisposeAsync();
            throw;
        }
    }

    private static Dictionary<string, string> ProfileEnv(BenchContext ctx, Dictionary<string, string> env)
    {
        if (ctx.Settings.Profile == "perf") env["DOTNET_PerfMapEnabled"] = "1";
        return env;
    }

    private static Dictionary<string, string> RouterEnv(BenchContext ctx, Dictionary<string, string> env) =>
        ExtraEnv(ctx.Settings.RouterEnv, "--router-env", env);

    /// <summary>True when <paramref name="pair"/> is KEY=VALUE with a non-empty KEY (what --router-env and --floor-env take).</summary>
    public static bool IsKeyValue(string pair) => pair.IndexOf('=') > 0;

    /// <summary>Adds KEY=VALUE pairs from <paramref name="option"/> to <paramref name="env"/>.</summary>
    /// <exception cref="ArgumentException">A pair that is not <see cref="IsKeyValue"/> (the command line checks this first).</exception>
    private static Dictionary<string, string> ExtraEnv(IReadOnlyList<string> pairs, string option, Dictionary<string, string> env)
    {
        foreach (var kv in pairs)
        {
            if (!IsKeyValue(kv)) throw new ArgumentException($"{option} wants KEY=VALUE, got '{kv}'");
            var eq = kv.IndexOf('=');
            env[kv[..eq]] = kv[(eq + 1)..];
        }
        return env;
    }

    private static void Require(string dll)
    {
        if (!File.Exists(dll))
            throw new FileNotFoundException($"{dll} is missing: build it with `dotnet build -c Release` (or run the bench with --build)", dll);
    }

    private static bool RouterUsesServerGc(BenchContext ctx)
    {
        try
        {
            var config = Path.ChangeExtension(ctx.NodeDll, ".runtimeconfig.json");
            using var doc = JsonDocument.Parse(File.ReadAllText(config));
            return doc.RootElement.GetProperty("runtimeOptions").TryGetProperty("configProperties", out var p) &&
                   p.TryGetProperty("System.GC.Server", out var gc) && gc.GetBoolean();
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in Processes.Reverse()) await p.DisposeAsync();
    }
}
