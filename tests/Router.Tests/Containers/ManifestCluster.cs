using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Router.Tests.Cluster;
using Router.Tests.Deploy;
using Router.Tests.EndToEnd;
using YamlDotNet.RepresentationModel;
using Router.Tests.Support;

namespace Router.Tests.Containers;

/// <summary>A pod's readiness or liveness probe as the manifest declares it (httpGet only), with Kubernetes' defaults.</summary>
internal sealed record KubeletProbe(string Kind, string Path, int Port, TimeSpan InitialDelay, TimeSpan Period, TimeSpan Timeout,
    int SuccessThreshold, int FailureThreshold)
{
    /// <summary>The <paramref name="kind"/> (readinessProbe, livenessProbe) of the workload's container; a missing probe or one that is not httpGet fails.</summary>
    public static KubeletProbe Of(Workload workload, string kind)
    {
        var probe = workload.Container.Map(kind) ?? throw new Xunit.Sdk.XunitException($"{workload.Object} has no {kind}");
        var get = probe.Map("httpGet") ?? throw new Xunit.Sdk.XunitException($"{workload.Object}: {kind} is not httpGet, which the test does not model");
        TimeSpan Seconds(string key, int fallback) => TimeSpan.FromSeconds(int.Parse(probe.Str(key) ?? fallback.ToString()));
        return new KubeletProbe(kind, get.Str("path") ?? "/",
            workload.ResolvePort(get.Str("port")) ?? throw new Xunit.Sdk.XunitException($"{workload.Object}: {kind} port {get.Str("port")} is not a container port"),
            Seconds("initialDelaySeconds", 0), Seconds("periodSeconds", 10), Seconds("timeoutSeconds", 1),
            int.Parse(probe.Str("successThreshold") ?? "1"), int.Parse(probe.Str("failureThreshold") ?? "3"));
    }

    public override string ToString() =>
        $"{Kind} GET :{Port}{Path} after {InitialDelay.TotalSeconds} s every {Period.TotalSeconds} s (timeout {Timeout.TotalSeconds} s, {FailureThreshold} failures)";
}

/// <summary>One pod of the test: one container on the test's network, its probes run by <see cref="ManifestCluster"/>.</summary>
internal sealed class ContainerPod
{
    public required Workload Workload { get; init; }

    /// <summary>The pod's name (its hostname, and <c>metadata.name</c> to the downward API).</summary>
    public required string Name { get; init; }

    public required string ContainerName { get; init; }

    /// <summary>The pod IP (<c>status.podIP</c>), on the test's podman network.</summary>
    public required string Ip { get; init; }

    /// <summary>Port on 127.0.0.1 published for the container's <c>http</c> port, if the test published it.</summary>
    public int? PublishedHttpPort { get; set; }

    /// <summary><see cref="RouterProcess.Clock"/> time (ms) when the container was started.</summary>
    public long StartedAtMs { get; init; }

    /// <summary>Clock time (ms) of the first readiness success.</summary>
    public long? ReadyAtMs { get; set; }

    public volatile bool Ready;

    /// <summary>Containers restarted because the liveness probe failed (the kubelet's restartCount).</summary>
    public int LivenessRestarts;

    /// <summary>Liveness probes run and failed so far.</summary>
    public int LivenessProbes, LivenessFailures;

    internal CancellationTokenSource Probing { get; } = new();

    /// <summary>The container's <c>http</c> port, where the probes and /metrics are.</summary>
    public int HttpPort => Workload.PortNamed("http") ?? throw new Xunit.Sdk.XunitException($"{Workload.Object} has no port named http");

    public string? TimeToReady => ReadyAtMs is { } r ? $"{(r - StartedAtMs) / 1000.0:F1} s" : null;

    public override string ToString() => Name;
}

/// <summary>
/// The cluster of deploy/k8s in podman containers, started the way Kubernetes would start the pods of the node
/// StatefulSet and the gateway Deployment: the image, command, args, ports, environment (<c>envFrom</c> ConfigMaps and
/// Secrets resolved, downward-API fields filled, <c>$(VAR)</c> expanded), user, capabilities, limits and grace period of
/// the manifests; pod hostnames; the StatefulSet's DNS names (<c>router-node-0.router-node.router.svc.cluster.local</c>
/// and its shorter forms) as network aliases on a podman network of the test's own; the readiness and liveness probes
/// polled as the kubelet does (a failed liveness probe restarts the container). Every container and the network carry
/// a unique prefix and label; <see cref="DisposeAsync"/> removes them all.
/// </summary>
internal sealed class ManifestCluster : IAsyncDisposable
{
    private static readonly TimeSpan PodmanTimeout = TimeSpan.FromSeconds(60);

    private readonly Action<string> _log;
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private readonly ConcurrentBag<Task> _probeLoops = [];
    private readonly List<string> _containers = [];
    private string _subnetPrefix = string.Empty;
    private int _nextHost = 10;

    private ManifestCluster(Manifests manifests, Action<string> log)
    {
        Manifests = manifests;
        _log = log;
        NodeWorkload = manifests.WorkloadOfRole("node");
        GatewayWorkload = manifests.WorkloadOfRole("gateway");
    }

    /// <summary>Prefix of every container and of the network: <c>rtc-</c> and 8 random hex digits.</summary>
    public string Prefix { get; } = $"rtc-{Guid.NewGuid():N}"[..12];

    public string Network => $"{Prefix}-net";

    public Manifests Manifests { get; }

    public Workload NodeWorkload { get; }

    public Workload GatewayWorkload { get; }

    /// <summary>The StatefulSet's pods, by ordinal.</summary>
    public List<ContainerPod> Nodes { get; } = [];

    public List<ContainerPod> Gateways { get; } = [];

    public IEnumerable<ContainerPod> All => Nodes.Concat(Gateways);

    /// <summary>Pods replaced by <see cref="ReplaceNodeAsync"/> (their probe counts stay).</summary>
    public List<ContainerPod> Replaced { get; } = [];

    /// <summary>Creates the network and starts every replica of both workloads at once (the StatefulSet's podManagementPolicy is Parallel).</summary>
    public static async Task<ManifestCluster> StartAsync(Manifests manifests, Action<string> log)
    {
        var cluster = new ManifestCluster(manifests, log);
        try
        {
            await cluster.CreateNetworkAsync();
            var nodes = Enumerable.Range(0, cluster.NodeWorkload.Replicas).Select(i => cluster.StartNodeAsync(i)).ToList();
            var gateways = Enumerable.Range(0, cluster.GatewayWorkload.Replicas).Select(_ => cluster.StartGatewayAsync()).ToList();
            cluster.Nodes.AddRange(await Task.WhenAll(nodes));
            cluster.Gateways.AddRange(await Task.WhenAll(gateways));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task CreateNetworkAsync()
    {
        await Podman.CheckAsync(PodmanTimeout, "network", "create", "--label", $"router.test={Prefix}", Network);
        var subnet = await Podman.CheckAsync(PodmanTimeout, "network", "inspect", Network, "--format", "{{range .Subnets}}{{.Subnet}} {{end}}");
        var m = Regex.Match(subnet, @"^(\d+\.\d+\.\d+\.)0/24\b");
        if (!m.Success) throw new InvalidOperationException($"podman network {Network} has subnet '{subnet}', expected an IPv4 /24");
        _subnetPrefix = m.Groups[1].Value;
        _log($"network {Network}: {subnet.Trim()} (DNS: container names and --network-alias)");
    }

    /// <summary>A fresh pod IP (a replacement pod gets a new one, as in Kubernetes).</summary>
    private string NextIp() => _subnetPrefix + Interlocked.Increment(ref _nextHost);

    /// <summary>Starts the StatefulSet pod <paramref name="ordinal"/>, reachable by its stable DNS names.</summary>
    public Task<ContainerPod> StartNodeAsync(int ordinal)
    {
        var w = NodeWorkload;
        var pod = $"{w.Name}-{ordinal}";
        var service = w.Spec.Str("serviceName") ?? throw new Xunit.Sdk.XunitException($"{w.Object} has no serviceName");
        // The names the headless Service gives the pod, fully qualified and as the search domains shorten them.
        var fqdn = $"{pod}.{service}.{w.Namespace}.svc.cluster.local";
        string[] aliases = [$"{pod}.{service}", $"{pod}.{service}.{w.Namespace}", $"{pod}.{service}.{w.Namespace}.svc", fqdn];
        return StartPodAsync(w, pod, aliases, publishHttp: false);
    }

    /// <summary>Starts a Deployment pod (a generated name, no stable DNS name; its http port published on 127.0.0.1).</summary>
    public Task<ContainerPod> StartGatewayAsync() =>
        StartPodAsync(GatewayWorkload, $"{GatewayWorkload.Name}-{Guid.NewGuid():N}"[..(GatewayWorkload.Name.Length + 11)], [], publishHttp: true);

    private async Task<ContainerPod> StartPodAsync(Workload w, string podName, string[] aliases, bool publishHttp)
    {
        var ip = NextIp();
        var env = w.ResolvedEnvironment(new Dictionary<string, string>
        {
            ["metadata.name"] = podName,
            ["metadata.namespace"] = w.Namespace,
            ["status.podIP"] = ip,
        });
        var c = w.Container;
        var container = $"{Prefix}-{podName}";
        List<string> args = ["run", "--detach", "--name", container, "--label", $"router.test={Prefix}", "--hostname", podName,
            "--network", Network, "--ip", ip];
        foreach (var alias in aliases) args.AddRange(["--network-alias", alias]);
        foreach (var (k, v) in env) args.AddRange(["--env", $"{k}={v}"]);

        // securityContext: the container's fields override the pod's.
        string? Security(string key) => c.StrAt($"securityContext.{key}") ?? w.PodSpec.StrAt($"securityContext.{key}");
        if (Security("runAsUser") is { } uid) args.AddRange(["--user", Security("runAsGroup") is { } gid ? $"{uid}:{gid}" : uid]);
        if (c.Map("securityContext")?.Map("capabilities")?.Seq("drop").OfType<YamlScalarNode>().Any(s => s.Value == "ALL") == true)
            args.AddRange(["--cap-drop", "ALL"]);
        if (c.StrAt("securityContext.allowPrivilegeEscalation") == "false") args.AddRange(["--security-opt", "no-new-privileges"]);
        if (w.PodSpec.Str("terminationGracePeriodSeconds") is { } grace) args.AddRange(["--stop-timeout", grace]);
        if (c.StrAt("resources.limits.memory") is { } memory) args.AddRange(["--memory", PodmanMemory(memory)]);
        if (c.StrAt("resources.limits.cpu") is { } cpu) args.AddRange(["--cpus", PodmanCpus(cpu)]);
        foreach (var port in w.ContainerPorts) args.AddRange(["--expose", port.ToString()]);
        if (publishHttp) args.AddRange(["--publish", $"127.0.0.1::{w.PortNamed("http")}"]);

        var command = c.Seq("command").OfType<YamlScalarNode>().Select(s => Expand(s.Value!, env)).ToList();
        if (command.Count > 0) args.AddRange(["--entrypoint", JsonSerializer.Serialize(command)]);
        args.Add(c.Str("image") ?? throw new Xunit.Sdk.XunitException($"{w.Object} has no image"));
        args.AddRange(c.Seq("args").OfType<YamlScalarNode>().Select(s => Expand(s.Value!, env)));

        lock (_containers) _containers.Add(container);
        var (code, _, error) = await Podman.RunAsync(PodmanTimeout, args);
        if (code != 0) throw new InvalidOperationException($"podman run of pod {podName} ({w.Object}) failed ({code}): {error}");
        var pod = new ContainerPod { Workload = w, Name = podName, ContainerName = container, Ip = ip, StartedAtMs = RouterProcess.Clock.ElapsedMilliseconds };
        if (publishHttp)
        {
            var mapping = await Podman.CheckAsync(PodmanTimeout, "port", container, $"{w.PortNamed("http")}/tcp");
            pod.PublishedHttpPort = int.Parse(mapping.Split('\n')[0].Split(':').Last());
        }
        _log($"pod {podName} ({w.Object}): container {container}, IP {ip}" +
             (aliases.Length > 0 ? $", DNS {aliases.Last()}" : string.Empty) +
             (pod.PublishedHttpPort is { } hp ? $", http published on 127.0.0.1:{hp}" : string.Empty));
        foreach (var kind in new[] { "readinessProbe", "livenessProbe" })
            _probeLoops.Add(ProbeLoopAsync(pod, KubeletProbe.Of(w, kind), pod.Probing.Token));
        return pod;
    }

    /// <summary>Kubernetes quantities to podman's: 2Gi → 2g, 512Mi → 512m.</summary>
    private static string PodmanMemory(string quantity)
    {
        var m = Regex.Match(quantity, @"^(\d+)(Ki|Mi|Gi)?$");
        if (!m.Success) throw new Xunit.Sdk.XunitException($"memory limit {quantity} is not modelled by the test");
        return m.Groups[1].Value + m.Groups[2].Value switch { "Ki" => "k", "Mi" => "m", "Gi" => "g", _ => "b" };
    }

    /// <summary>CPU quantities to podman's: 2 → 2, 500m → 0.5.</summary>
    private static string PodmanCpus(string quantity) =>
        quantity.EndsWith('m') ? (int.Parse(quantity[..^1]) / 1000.0).ToString(System.Globalization.CultureInfo.InvariantCulture) : quantity;

    private static string Expand(string value, IReadOnlyDictionary<string, string> env) =>
        Regex.Replace(value, @"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", m => env.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);

    /// <summary>
    /// One probe of one pod, as the kubelet runs it: first after the initial delay, then every period, each with its
    /// timeout; HTTP 200-399 is a success. Readiness: ready after successThreshold successes in a row, not ready after
    /// failureThreshold failures. Liveness: failureThreshold failures in a row restart the container.
    /// </summary>
    private async Task ProbeLoopAsync(ContainerPod pod, KubeletProbe probe, CancellationToken ct)
    {
        try
        {
            await Task.Delay(probe.InitialDelay, ct);
            int successes = 0, failures = 0;
            while (!ct.IsCancellationRequested)
            {
                var (ok, detail) = await ProbeOnceAsync(pod, probe, ct);
                if (ok) { successes++; failures = 0; }
                else { failures++; successes = 0; }
                if (probe.Kind == "readinessProbe")
                {
                    if (ok && !pod.Ready && successes >= probe.SuccessThreshold)
                    {
                        pod.Ready = true;
                        pod.ReadyAtMs ??= RouterProcess.Clock.ElapsedMilliseconds;
                        _log($"pod {pod.Name} ready ({probe.Path}: {detail}) {(RouterProcess.Clock.ElapsedMilliseconds - pod.StartedAtMs) / 1000.0:F1} s after its start");
                    }
                    else if (!ok && pod.Ready && failures >= probe.FailureThreshold)
                    {
                        pod.Ready = false;
                        _log($"pod {pod.Name} not ready ({probe.Path}: {detail})");
                    }
                }
                else
                {
                    Interlocked.Increment(ref pod.LivenessProbes);
                    if (!ok) Interlocked.Increment(ref pod.LivenessFailures);
                }
                if (probe.Kind == "livenessProbe" && failures >= probe.FailureThreshold)
                {
                    Interlocked.Increment(ref pod.LivenessRestarts);
                    _log($"pod {pod.Name}: liveness probe failed {failures} times ({detail}); restarting its container as the kubelet would");
                    await Podman.RunAsync(PodmanTimeout, ["restart", pod.ContainerName]);
                    failures = 0;
                    await Task.Delay(probe.InitialDelay, ct);
                    continue;
                }
                await Task.Delay(probe.Period, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    private async Task<(bool Ok, string Detail)> ProbeOnceAsync(ContainerPod pod, KubeletProbe probe, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(probe.Timeout);
        try
        {
            using var response = await _http.GetAsync($"http://{pod.Ip}:{probe.Port}{probe.Path}", timeout.Token);
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            var status = (int)response.StatusCode;
            return (status is >= 200 and < 400, $"{status} {body.Trim()}");
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            return (false, e is OperationCanceledException ? $"timeout {probe.Timeout.TotalSeconds} s" : e.Message);
        }
    }

    /// <summary>Waits until every pod is ready; on timeout throws with each pod's state and the end of its log.</summary>
    public async Task WaitReadyAsync(IEnumerable<ContainerPod> pods, TimeSpan timeout)
    {
        var list = pods.ToList();
        var deadline = WaitDeadline.In(timeout);
        while (!list.All(p => p.Ready))
        {
            if (deadline.Passed)
            {
                var states = new List<string>();
                foreach (var p in list.Where(p => !p.Ready))
                {
                    var (_, state, _) = await Podman.RunAsync(PodmanTimeout, ["inspect", p.ContainerName, "--format", "{{.State.Status}} exit {{.State.ExitCode}}"]);
                    var (_, logs, errors) = await Podman.RunAsync(PodmanTimeout, ["logs", "--tail", "25", p.ContainerName]);
                    states.Add($"{p.Name} ({state}):\n{logs}\n{errors}");
                }
                throw new TimeoutException($"not ready within {timeout.TotalSeconds} s: {string.Join("\n\n", states)}");
            }
            await Task.Delay(200);
        }
    }

    /// <summary><c>podman kill</c> (SIGKILL) of a pod's container; its probes stop.</summary>
    public async Task KillAsync(ContainerPod pod)
    {
        await pod.Probing.CancelAsync();
        await Podman.CheckAsync(PodmanTimeout, "kill", "--signal", "KILL", pod.ContainerName);
    }

    /// <summary>
    /// Replaces a StatefulSet pod as the controller does after the pod is deleted: the old container removed, a new one
    /// with the same name and DNS names (and a new IP).
    /// </summary>
    public async Task<ContainerPod> ReplaceNodeAsync(ContainerPod pod)
    {
        await pod.Probing.CancelAsync();
        await Podman.CheckAsync(PodmanTimeout, "rm", "--force", pod.ContainerName);
        var ordinal = Nodes.IndexOf(pod);
        Replaced.Add(pod);
        var replacement = await StartNodeAsync(ordinal);
        Nodes[ordinal] = replacement;
        return replacement;
    }

    /// <summary>The text of a pod's http <paramref name="path"/> (e.g. /metrics), fetched at its pod IP like Prometheus would.</summary>
    public async Task<string> GetAsync(ContainerPod pod, string path, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        return await _http.GetStringAsync($"http://{pod.Ip}:{pod.HttpPort}{path}", cts.Token);
    }

    /// <summary>The cluster as <paramref name="pod"/> sees it, from its /metrics: members Up, members unreachable.</summary>
    public async Task<(int Up, int Unreachable)> MembershipAsync(ContainerPod pod)
    {
        var text = await GetAsync(pod, "/metrics", TimeSpan.FromSeconds(3));
        return ((int)PrometheusText.Sum(text, "router_cluster_members", ("status", "up")), (int)PrometheusText.Sum(text, "router_cluster_unreachable_members"));
    }

    /// <summary>Waits until every pod sees <paramref name="up"/> members Up and none unreachable; returns how long it took (ms).</summary>
    public async Task<long> WaitMembershipAsync(int up, TimeSpan timeout)
    {
        var start = RouterProcess.Clock.ElapsedMilliseconds;
        var deadline = WaitDeadline.In(timeout);
        var views = new Dictionary<string, string>();
        while (true)
        {
            var agreed = true;
            foreach (var pod in All)
            {
                try
                {
                    var (seenUp, unreachable) = await MembershipAsync(pod);
                    views[pod.Name] = $"{seenUp} up, {unreachable} unreachable";
                    agreed &= seenUp == up && unreachable == 0;
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
                {
                    views[pod.Name] = e.Message;
                    agreed = false;
                }
            }
            if (agreed) return RouterProcess.Clock.ElapsedMilliseconds - start;
            if (deadline.Passed)
                throw new TimeoutException($"the members do not all see {up} Up within {timeout.TotalSeconds} s: {string.Join("; ", views.Select(v => $"{v.Key}: {v.Value}"))}");
            await Task.Delay(500);
        }
    }

    /// <summary>Stops the probes, removes every container and the network of the test (also after a failure).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var p in All) await p.Probing.CancelAsync();
        await Task.WhenAll(_probeLoops).WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { });
        if (Environment.GetEnvironmentVariable("ROUTER_TEST_LOGS") is { Length: > 0 } dir)
        {
            Directory.CreateDirectory(dir);
            foreach (var c in _containers.Distinct())
            {
                var (_, logs, errors) = await Podman.RunAsync(PodmanTimeout, ["logs", c]);
                await File.WriteAllTextAsync(Path.Combine(dir, $"{c}.log"), logs + "\n" + errors);
            }
        }
        var (_, ids, _) = await Podman.RunAsync(PodmanTimeout, ["ps", "--all", "--quiet", "--filter", $"label=router.test={Prefix}"]);
        var all = ids.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (all.Length > 0)
        {
            var (code, _, error) = await Podman.RunAsync(TimeSpan.FromSeconds(120), ["rm", "--force", "--time", "0", .. all]);
            if (code != 0) _log($"cleanup: podman rm failed ({code}): {error}");
        }
        var (netCode, _, netError) = await Podman.RunAsync(PodmanTimeout, ["network", "rm", "--force", Network]);
        if (netCode != 0 && !netError.Contains("network not found", StringComparison.OrdinalIgnoreCase)) _log($"cleanup: podman network rm failed ({netCode}): {netError}");
        var (_, left, _) = await Podman.RunAsync(PodmanTimeout, ["ps", "--all", "--quiet", "--filter", $"name={Prefix}"]);
        _log($"cleanup: removed {all.Length} containers and network {Network}; containers left with prefix {Prefix}: {left.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length}");
        _http.Dispose();
    }
}
