using System.Net.Http;
using Router.Gateway.Security;
using Router.Tests.Support;

namespace Router.Tests.Cluster;

/// <summary>
/// 3 <c>Router.Node --role=node</c> processes and 2 <c>Router.Node --role=gateway</c> processes on 127.0.0.1 with distinct ports,
/// one Akka.NET cluster (identical seed list of the three nodes), tenants <c>acme</c> and <c>globex</c>. Every member's
/// remoting sits behind a <see cref="Partition"/> proxy, so a test can cut one member off.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    public const string AcmeKey = "cluster-acme-key";
    public const string GlobexKey = "cluster-globex-key";

    private readonly List<RouterProcess> _all = [];

    /// <summary>One member process: its ports (HTTP, remoting bind port, advertised proxy port) and how to restart it.</summary>
    public sealed class Member : EndToEnd.IRouterEndpoint
    {
        public required string Name { get; init; }
        /// <summary>The process's role: node or gateway (<c>--role</c>).</summary>
        public required string Role { get; init; }
        public required List<string> Args { get; init; }
        public required int HttpPort { get; init; }
        public required int RemotingPort { get; init; }
        public required int PublicPort { get; init; }
        public RouterProcess Process { get; set; } = null!;

        /// <summary>The member's cluster address as it appears in Akka's logs.</summary>
        public string Address => $"127.0.0.1:{PublicPort}";

        public Uri HttpBase => new($"http://127.0.0.1:{HttpPort}/");

        public Uri WsBase => new($"ws://127.0.0.1:{HttpPort}/");

        public HttpClient Http(string? key = null)
        {
            var client = new HttpClient { BaseAddress = HttpBase, Timeout = TimeSpan.FromSeconds(30) };
            if (key is not null) client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            return client;
        }
    }

    public Partition Partition { get; } = new();

    public List<Member> Nodes { get; } = [];

    public List<Member> Gateways { get; } = [];

    public IEnumerable<RouterProcess> All => _all;

    /// <summary>
    /// Split-brain stable-after and down-removal margin of the fault tests: 2 s each, faster than the defaults (7 s each,
    /// docs/deploy.md) so a kill -9 recovers within the test's bound, and consistent with the rule margin ≥ stable-after
    /// the processes check at start-up. <c>ROUTER_TEST_CLUSTER_TIMINGS=defaults</c> runs the cluster with the defaults
    /// instead (to measure the kill -9 recovery a real deployment gets).
    /// </summary>
    public static readonly TimeSpan TestStableAfter = TimeSpan.FromSeconds(2);

    /// <summary>True when <c>ROUTER_TEST_CLUSTER_TIMINGS=defaults</c>: the members run with the default cluster timings.</summary>
    public static bool UsesDefaultTimings => Environment.GetEnvironmentVariable("ROUTER_TEST_CLUSTER_TIMINGS") == "defaults";

    /// <summary>
    /// Starts <paramref name="nodes"/> node processes and 2 gateways, each with <paramref name="extraArgs"/> too, the
    /// gateways also with <paramref name="gatewayArgs"/> (settings only the gateway role reads, e.g. a keys file).
    /// </summary>
    public static async Task<LocalCluster> StartAsync(int nodes = 3, IEnumerable<string>? extraArgs = null, IEnumerable<string>? gatewayArgs = null)
    {
        var cluster = new LocalCluster();
        cluster._extraArgs.AddRange(extraArgs ?? []);
        cluster._gatewayArgs.AddRange(gatewayArgs ?? []);
        cluster.Nodes.AddRange(Enumerable.Range(0, nodes).Select(i => cluster.Create($"node-{i}", "node")));
        cluster.Gateways.AddRange(Enumerable.Range(0, 2).Select(i => cluster.Create($"gateway-{(char)('a' + i)}", "gateway")));
        cluster._seeds.AddRange(cluster.Nodes.Select(n => $"akka.tcp://router@{n.Address}"));
        foreach (var m in cluster.Nodes.Concat(cluster.Gateways))
        {
            cluster.Configure(m);
            cluster.Launch(m);
        }
        foreach (var m in cluster.Nodes.Concat(cluster.Gateways)) await WaitReadyAsync(m, TimeSpan.FromSeconds(60));
        return cluster;
    }

    private readonly List<string> _seeds = [];
    private readonly List<string> _extraArgs = [];
    private readonly List<string> _gatewayArgs = [];

    private Member Create(string name, string role)
    {
        var remoting = TestPorts.Next();
        return new Member
        {
            Name = name, Role = role, Args = [$"--role={role}"], HttpPort = TestPorts.Next(), RemotingPort = remoting,
            PublicPort = Partition.Add(remoting).Port,
        };
    }

    private void Configure(Member m)
    {
        m.Args.AddRange(
        [
            $"--urls=http://127.0.0.1:{m.HttpPort}",
            "--Router:Cluster:Hostname=127.0.0.1",
            $"--Router:Cluster:Port={m.RemotingPort}",
            $"--Router:Cluster:PublicPort={m.PublicPort}",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Akka=Information",
            "--Logging:LogLevel:Router=Information",
        ]);
        for (var i = 0; i < _seeds.Count; i++) m.Args.Add($"--Router:Cluster:SeedNodes:{i}={_seeds[i]}");
        if (!UsesDefaultTimings)
        {
            m.Args.Add($"--Router:Cluster:SplitBrainStableAfter={TestStableAfter}");
            m.Args.Add($"--Router:Cluster:DownRemovalMargin={TestStableAfter}");
        }
        m.Args.AddRange(_extraArgs);
        if (m.Role == "gateway")
        {
            m.Args.AddRange(_gatewayArgs);
            AddKey(m.Args, 0, AcmeKey, "acme");
            AddKey(m.Args, 1, GlobexKey, "globex");
        }
    }

    /// <summary>Starts one more node (not a seed; it joins through the three seed nodes), as a StatefulSet scaled out; waits until it is ready.</summary>
    public async Task<Member> AddNodeAsync(TimeSpan timeout)
    {
        var m = Create($"node-{Nodes.Count}", "node");
        Nodes.Add(m);
        Configure(m);
        Launch(m);
        await WaitReadyAsync(m, timeout);
        return m;
    }

    private void Launch(Member m)
    {
        m.Process = RouterProcess.Start(m.Name + (_all.Any(p => p.Name.StartsWith(m.Name, StringComparison.Ordinal)) ? $"-{_all.Count}" : ""), "Router.Node.dll", m.Args);
        _all.Add(m.Process);
    }

    /// <summary>Starts a fresh process for a member that exited (as Kubernetes restarts a pod), on the same ports.</summary>
    public async Task RestartAsync(Member m, TimeSpan timeout)
    {
        if (!m.Process.HasExited) throw new InvalidOperationException($"{m.Name} is still running");
        Launch(m);
        await WaitReadyAsync(m, timeout);
    }

    private static void AddKey(List<string> args, int index, string key, string tenant)
    {
        args.Add($"--Router:ApiKeys:{index}:Sha256={ApiKeyStore.HashKey(key)}");
        args.Add($"--Router:ApiKeys:{index}:Tenant={tenant}");
        args.Add($"--Router:ApiKeys:{index}:Scopes:0=ingest");
        args.Add($"--Router:ApiKeys:{index}:Scopes:1=view");
    }

    private static async Task WaitReadyAsync(Member m, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = WaitDeadline.In(timeout);
        while (true)
        {
            if (m.Process.HasExited) throw new InvalidOperationException($"{m.Process.Name} exited: {string.Join('\n', m.Process.Output.TakeLast(30))}");
            try
            {
                if ((await http.GetAsync($"http://127.0.0.1:{m.HttpPort}/readyz")).IsSuccessStatusCode) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            if (deadline.Passed) throw new TimeoutException($"{m.Process.Name} not ready: {string.Join('\n', m.Process.Output.TakeLast(30))}");
            await Task.Delay(200);
        }
    }

    public void Track(RouterProcess process) => _all.Add(process);

    private static readonly string LogRoot = Path.Combine(Path.GetTempPath(), "router-cluster-logs");
    private static int _clusters;

    /// <summary>
    /// Where this cluster's processes' output is written when it is disposed (for diagnosis): a directory of its own
    /// under <c>router-cluster-logs</c> in the temp directory (so a later cluster test, or one of another checkout, does
    /// not overwrite a failed run's logs); the 20 newest are kept.
    /// </summary>
    public string LogDirectory { get; } = Path.Combine(LogRoot,
        $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}-{Interlocked.Increment(ref _clusters)}");

    public ValueTask DisposeAsync()
    {
        Directory.CreateDirectory(LogDirectory);
        foreach (var p in _all)
        {
            p.Dispose();
            File.WriteAllLines(Path.Combine(LogDirectory, p.Name + ".log"), p.Output);
        }
        Partition.Dispose();
        foreach (var old in Directory.GetDirectories(LogRoot).OrderDescending(StringComparer.Ordinal).Skip(20))
        {
            try { Directory.Delete(old, recursive: true); }
            catch (IOException) { } // another test process is pruning too
        }
        return ValueTask.CompletedTask;
    }
}
