using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Router.Actors.Hosting;
using Router.Gateway.Security;
using Router.Node;
using Router.Tests.Media;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace Router.Tests.Deploy;

/// <summary>
/// The rendered deploy/k8s manifests (base and example overlay) checked against the app: ports, environment,
/// seed addresses, shutdown time, autoscaling, disruption budgets, security.
/// </summary>
public sealed class ManifestTests
{
    /// <summary>The image name of every workload (deploy/docker/router.Dockerfile): one executable with roles.</summary>
    public const string Image = "router";

    /// <summary>Roles of the two workloads (<c>Router:Role</c>): the StatefulSet router-node and the Deployment router-gateway.</summary>
    public const string NodeRole = "node";

    /// <inheritdoc cref="NodeRole"/>
    public const string GatewayRole = "gateway";

    /// <summary>The documented example API key whose hash is in deploy/k8s/base/secret.yaml.</summary>
    public const string ExampleApiKey = "example-key-CHANGE-ME";

    public static TheoryData<string> Kustomizations => new(Manifests.Kustomizations);

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Renders_TheObjectsOfACluster_AllInTheirNamespace(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        foreach (var kind in new[] { "Namespace", "StatefulSet", "Deployment", "HorizontalPodAutoscaler", "Ingress", "Secret" })
            Assert.True(m.OfKind(kind).Any(), $"{kustomization}: no {kind}");
        Assert.Equal(2, m.OfKind("Service").Count());
        Assert.Equal(2, m.OfKind("PodDisruptionBudget").Count());
        Assert.NotEmpty(m.OfKind("ConfigMap"));

        var ns = Assert.Single(m.OfKind("Namespace"));
        foreach (var o in m.Objects.Where(o => o.Kind != "Namespace"))
            Assert.True(o.Namespace == ns.Name, $"{kustomization}: {o} is in namespace '{o.Namespace}', not in the rendered Namespace '{ns.Name}'");
        Assert.Equal(m.Objects.Count, m.Objects.Select(o => $"{o.Kind}/{o.Name}").Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void ContainerPorts_EqualTheConfiguredPorts(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        foreach (var w in new[] { m.WorkloadOfRole(NodeRole), m.WorkloadOfRole(GatewayRole) })
        {
            var env = w.ResolvedEnvironment();
            var cluster = RouterConfiguration.Cluster(w.Configuration());

            // Remoting: the port Akka.NET binds (Router:Cluster:Port) is the container port named remoting.
            Assert.True(cluster.Port > 0, $"{w.Object}: Router:Cluster:Port is {cluster.Port}; a cluster member needs a fixed port");
            Assert.Equal(cluster.Port, w.PortNamed("remoting"));
            Assert.Equal("0.0.0.0", cluster.Hostname);

            // HTTP: the port Kestrel listens on (ASPNETCORE_URLS) is the container port named http.
            Assert.True(env.TryGetValue("ASPNETCORE_URLS", out var urls), $"{w.Object}: ASPNETCORE_URLS is not set");
            var http = Assert.Single(UrlPorts(urls!));
            Assert.True(Regex.IsMatch(urls!, @"^https?://(\+|\*|0\.0\.0\.0|\[::\]):\d+/?$"), $"{w.Object}: ASPNETCORE_URLS={urls} does not listen on every interface");
            Assert.Equal(http, w.PortNamed("http"));

            // No other container port.
            Assert.Equal(new[] { cluster.Port, http }.Order(), w.ContainerPorts.Order());
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Probes_AskTheAppOnItsHttpPort_ReadinessIsReadyz_LivenessIsLenient(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        foreach (var w in new[] { m.WorkloadOfRole(NodeRole), m.WorkloadOfRole(GatewayRole) })
        {
            var readiness = w.Container.Map("readinessProbe") ?? throw new Xunit.Sdk.XunitException($"{w.Object}: no readinessProbe");
            var liveness = w.Container.Map("livenessProbe") ?? throw new Xunit.Sdk.XunitException($"{w.Object}: no livenessProbe");
            Assert.Equal("/readyz", readiness.StrAt("httpGet.path"));
            Assert.Equal("/healthz", liveness.StrAt("httpGet.path"));
            foreach (var probe in new[] { readiness, liveness })
                Assert.Equal(w.PortNamed("http"), w.ResolvePort(probe.StrAt("httpGet.port")));
            // Lenient: a restart only after 6 failures 20 s apart (2 minutes without an answer).
            Assert.True(int.Parse(liveness.Str("periodSeconds") ?? "10") >= 20, $"{w.Object}: liveness periodSeconds < 20");
            Assert.True(int.Parse(liveness.Str("failureThreshold") ?? "3") >= 6, $"{w.Object}: liveness failureThreshold < 6");
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Pods_AreScrapedForMetrics_OnTheirHttpPort(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        foreach (var w in new[] { m.WorkloadOfRole(NodeRole), m.WorkloadOfRole(GatewayRole) })
        {
            var annotations = w.Spec.Map("template")?.Map("metadata")?.Map("annotations")
                              ?? throw new Xunit.Sdk.XunitException($"{w.Object}: no pod template annotations");
            Assert.Equal("true", annotations.Str("prometheus.io/scrape"));
            Assert.Equal("/metrics", annotations.Str("prometheus.io/path"));
            Assert.Equal(w.PortNamed("http"), w.ResolvePort(annotations.Str("prometheus.io/port")));
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Services_AndIngress_RouteToDeclaredContainerPorts(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        foreach (var service in m.OfKind("Service"))
        {
            var workload = SelectedWorkload(m, service.Spec!.Map("selector"), service.ToString());
            foreach (var port in service.Spec!.Seq("ports").OfType<YamlMappingNode>())
            {
                var target = port.Str("targetPort") ?? port.Str("port");
                var resolved = workload.ResolvePort(target);
                Assert.True(resolved is not null && workload.ContainerPorts.Contains(resolved.Value),
                    $"{service}: port {port.Str("name")} targets {target}, which {workload.Object} does not declare");
            }
        }

        var gateway = m.WorkloadOfRole(GatewayRole);
        foreach (var ingress in m.OfKind("Ingress"))
        {
            var backends = ingress.Spec!.Seq("rules").OfType<YamlMappingNode>()
                .SelectMany(r => r.Map("http")?.Seq("paths") ?? []).OfType<YamlMappingNode>()
                .Select(p => p.Map("backend")!.Map("service")!).ToList();
            Assert.NotEmpty(backends);
            foreach (var backend in backends)
            {
                var service = m.Get("Service", backend.Str("name")!);
                Assert.Same(gateway.Object, SelectedWorkload(m, service.Spec!.Map("selector"), service.ToString()).Object);
                var ports = service.Spec!.Seq("ports").OfType<YamlMappingNode>().ToList();
                Assert.Contains(ports, p => p.Str("name") == backend.StrAt("port.name") || p.Str("port") == backend.StrAt("port.number"));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void EnvironmentVariables_AreOnesTheAppReads(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        var errors = new List<string>();
        foreach (var (role, program) in new[] { (NodeRole, RouterProgram.Node), (GatewayRole, RouterProgram.Gateway) })
        {
            var w = m.WorkloadOfRole(role);
            var referenced = w.ReferencedVariables();
            foreach (var v in w.Environment)
            {
                // Downward-API variables (POD_NAME, POD_IP…) may exist only for $(…) expansion in what the app reads.
                if (v.Source == "fieldRef" && referenced.Contains(v.Name)) continue;
                if (AppConfigurationSurface.WhyNotRead(program, v.Name) is { } why) errors.Add($"{w.Object} ({v.Source}): {why}");
            }
            // The real binder, strict: unknown keys and values that do not convert fail.
            var configuration = w.Configuration();
            errors.AddRange(AppConfigurationSurface.BindErrors(program, configuration).Select(e => $"{w.Object}: {e}"));
            try { RouterConfiguration.PullSources(configuration); }
            catch (InvalidOperationException e) { errors.Add($"{w.Object}: {e.Message}"); }
            Assert.Equal(role, configuration["Router:Role"]);
        }
        Assert.True(errors.Count == 0, $"{kustomization}:\n" + string.Join("\n", errors));
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void ConfigMapsAndSecrets_AreEachLoadedByAWorkload(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        var used = m.Workloads.SelectMany(w => w.Environment).Select(v => v.Source).ToHashSet();
        foreach (var o in m.Objects.Where(o => o.Kind is "ConfigMap" or "Secret"))
            Assert.True(used.Contains($"{o.Kind}/{o.Name}"), $"{kustomization}: {o} is loaded by no workload (envFrom)");
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void SeedNodes_AreTheFirstNodePods_ThroughTheHeadlessService_AndEqualTheirOwnAddresses(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        var nodes = m.WorkloadOfRole(NodeRole);
        var gateways = m.WorkloadOfRole(GatewayRole);
        Assert.Equal("StatefulSet", nodes.Object.Kind);

        // The headless Service the StatefulSet names: stable DNS per pod, resolvable before readiness.
        var serviceName = nodes.Spec.Str("serviceName")!;
        var service = m.Get("Service", serviceName);
        Assert.Equal("None", service.Spec!.Str("clusterIP"));
        Assert.Equal("true", service.Spec!.Str("publishNotReadyAddresses"));
        Assert.Same(nodes.Object, SelectedWorkload(m, service.Spec!.Map("selector"), service.ToString()).Object);

        var nodeCluster = RouterConfiguration.Cluster(nodes.Configuration());
        var gatewayCluster = RouterConfiguration.Cluster(gateways.Configuration());
        Assert.Equal(nodeCluster.SystemName, gatewayCluster.SystemName);

        // Identical lists in nodes and gateways (as written, before expansion).
        string[] SeedsAsWritten(Workload w) =>
            w.Environment.Where(v => v.Name.StartsWith("Router__Cluster__SeedNodes__", StringComparison.Ordinal))
                .OrderBy(v => int.Parse(v.Name.Split("__")[^1])).Select(v => v.Value!).ToArray();
        Assert.Equal(SeedsAsWritten(nodes), SeedsAsWritten(gateways));
        Assert.Equal(nodeCluster.SeedNodes, gatewayCluster.SeedNodes);

        var seeds = nodeCluster.SeedNodes;
        Assert.InRange(seeds.Count, 1, nodes.Replicas);
        Assert.True(seeds.Count >= 3 || nodes.Replicas < 3, $"{kustomization}: {seeds.Count} seed(s) for {nodes.Replicas} nodes");
        for (var i = 0; i < seeds.Count; i++)
        {
            var expectedHost = $"{nodes.Name}-{i}.{serviceName}.{nodes.Namespace}.svc.cluster.local";
            Assert.Equal($"akka.tcp://{nodeCluster.SystemName}@{expectedHost}:{nodes.PortNamed("remoting")}", seeds[i]);

            // Node i calls itself exactly what the seed list calls it, or it would not recognise itself as seed i.
            var own = RouterConfiguration.Cluster(nodes.Configuration(nodes.SampleFields(i)));
            Assert.Equal(expectedHost, own.PublicHostname);
            Assert.Equal(seeds[i], $"akka.tcp://{own.SystemName}@{own.PublicHostname}:{own.Port}");
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Gateways_AdvertiseTheirPodIp(string kustomization)
    {
        var gateways = Manifests.Render(kustomization).WorkloadOfRole(GatewayRole);
        var podIp = Assert.Single(gateways.Environment, v => v.Name == "POD_IP");
        Assert.Equal("status.podIP", podIp.FieldPath);
        var cluster = RouterConfiguration.Cluster(gateways.Configuration(gateways.SampleFields(3)));
        Assert.Equal(gateways.SampleFields(3)["status.podIP"], cluster.PublicHostname);
    }

    /// <summary>
    /// SIGTERM starts Akka.NET CoordinatedShutdown (shard hand-off, leave, exiting: <see cref="RouterShutdown.Budget"/>)
    /// inside the host's shutdown timeout; Kubernetes kills the container at terminationGracePeriodSeconds, so that
    /// must exceed both or a node is killed in the middle of handing off its cameras.
    /// </summary>
    [Theory]
    [MemberData(nameof(Kustomizations))]
    public async Task TerminationGrace_ExceedsTheShutdownBudget_AndTheHostShutdownTimeout(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        await using var node = RouterNodeApp.Build(["--Router:Role=node", "--urls=http://127.0.0.1:0"]);
        var hostTimeout = node.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout;
        var needed = TimeSpan.FromTicks(Math.Max(RouterShutdown.Budget.Ticks, hostTimeout.Ticks));
        foreach (var w in new[] { m.WorkloadOfRole(NodeRole), m.WorkloadOfRole(GatewayRole) })
        {
            var grace = TimeSpan.FromSeconds(int.Parse(w.PodSpec.Str("terminationGracePeriodSeconds") ?? "30"));
            Assert.True(grace > needed,
                $"{w.Object}: terminationGracePeriodSeconds {grace.TotalSeconds} does not exceed the shutdown budget " +
                $"{RouterShutdown.Budget.TotalSeconds} s / host shutdown timeout {hostTimeout.TotalSeconds} s");
            // SIGTERM itself starts CoordinatedShutdown; a preStop hook would only delay it.
            Assert.Null(w.Container.Map("lifecycle")?.Map("preStop"));
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Hpa_ScalesTheGatewayDeploymentOnCpu(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        var gateways = m.WorkloadOfRole(GatewayRole);
        var hpa = Assert.Single(m.OfKind("HorizontalPodAutoscaler"));
        Assert.Equal("autoscaling/v2", hpa.Root.Str("apiVersion"));
        var target = hpa.Spec!.Map("scaleTargetRef")!;
        Assert.Equal(("apps/v1", "Deployment", gateways.Name), (target.Str("apiVersion"), target.Str("kind"), target.Str("name")));
        Assert.Equal("Deployment", gateways.Object.Kind);

        var min = int.Parse(hpa.Spec!.Str("minReplicas") ?? "1");
        var max = int.Parse(hpa.Spec!.Str("maxReplicas")!);
        Assert.True(min >= 2 && max >= min, $"{hpa}: min {min}, max {max}");
        var cpu = Assert.Single(hpa.Spec!.Seq("metrics").OfType<YamlMappingNode>(), x => x.StrAt("resource.name") == "cpu");
        Assert.Equal("Utilization", cpu.StrAt("resource.target.type"));
        Assert.Equal("70", cpu.StrAt("resource.target.averageUtilization"));
        // Utilization is relative to the CPU request, so the pods must have one.
        Assert.NotNull(gateways.Container.StrAt("resources.requests.cpu"));
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void DisruptionBudgets_SelectTheNodeAndGatewayPods(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        var selected = new List<string>();
        foreach (var pdb in m.OfKind("PodDisruptionBudget"))
        {
            Assert.Equal("policy/v1", pdb.Root.Str("apiVersion"));
            var w = SelectedWorkload(m, pdb.Spec!.Map("selector")?.Map("matchLabels"), pdb.ToString());
            selected.Add(w.Name);
            Assert.Equal("1", pdb.Spec!.Str("maxUnavailable"));
        }
        Assert.Equal(new[] { m.WorkloadOfRole(NodeRole).Name, m.WorkloadOfRole(GatewayRole).Name }.Order(), selected.Order());
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Pods_RunAsNonRoot_WithResources_SpreadOverNodes(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        foreach (var w in m.Workloads)
        {
            var security = w.PodSpec.Map("securityContext") ?? throw new Xunit.Sdk.XunitException($"{w.Object}: no pod securityContext");
            Assert.Equal("true", security.Str("runAsNonRoot"));
            Assert.NotEqual("0", security.Str("runAsUser") ?? "0");
            Assert.Equal("false", w.Container.StrAt("securityContext.allowPrivilegeEscalation"));
            foreach (var path in new[] { "requests.cpu", "requests.memory", "limits.cpu", "limits.memory" })
                Assert.True(w.Container.StrAt("resources." + path) is not null, $"{w.Object}: no resources.{path}");

            var term = w.PodSpec.At("affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution") is YamlSequenceNode terms
                ? terms.OfType<YamlMappingNode>().Select(t => t.Map("podAffinityTerm")!).SingleOrDefault(t => t.Str("topologyKey") == "kubernetes.io/hostname")
                : null;
            Assert.True(term is not null, $"{w.Object}: no preferred pod anti-affinity on kubernetes.io/hostname");
            Assert.Same(w.Object, SelectedWorkload(m, term!.Map("labelSelector")?.Map("matchLabels"), $"{w.Object} anti-affinity").Object);
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Rollouts_NodesOneByOneInParallelStart_GatewaysWithoutLosingCapacity(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        var nodes = m.WorkloadOfRole(NodeRole);
        Assert.Equal("Parallel", nodes.Spec.Str("podManagementPolicy"));
        Assert.True(nodes.Replicas >= 3, $"{nodes.Object}: {nodes.Replicas} replicas");
        Assert.Equal("RollingUpdate", nodes.Spec.StrAt("updateStrategy.type") ?? "RollingUpdate");
        Assert.Null(nodes.Spec.StrAt("updateStrategy.rollingUpdate.maxUnavailable")); // default 1: one node at a time

        var gateways = m.WorkloadOfRole(GatewayRole);
        Assert.True(gateways.Replicas >= 2, $"{gateways.Object}: {gateways.Replicas} replicas");
        Assert.Equal("RollingUpdate", gateways.Spec.StrAt("strategy.type"));
        Assert.Equal("0", gateways.Spec.StrAt("strategy.rollingUpdate.maxUnavailable"));
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Ingress_KeepsWebSocketsOpen_AndTakesWholeFrames(string kustomization)
    {
        var ingress = Assert.Single(Manifests.Render(kustomization).OfKind("Ingress"));
        var annotations = ingress.Root.Map("metadata")!.Map("annotations")!.Scalars().ToDictionary();
        Assert.Equal("nginx", ingress.Spec!.Str("ingressClassName"));
        Assert.True(int.Parse(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600);
        Assert.True(int.Parse(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600);
        Assert.Equal("off", annotations["nginx.ingress.kubernetes.io/proxy-buffering"]);
        // Body size limit above the largest frame the app accepts (Router:Camera:SizePolicy:HardLimitBytes).
        var body = annotations["nginx.ingress.kubernetes.io/proxy-body-size"];
        var bytes = long.Parse(body.TrimEnd('m', 'M')) * 1024 * 1024;
        var camera = RouterConfiguration.Camera(Manifests.Render(kustomization).WorkloadOfRole(GatewayRole).Configuration());
        Assert.True(bytes > camera.SizePolicy.HardLimitBytes, $"proxy-body-size {body} is not above {camera.SizePolicy.HardLimitBytes} bytes");
        // Raw frames over HTTP (application/octet-stream) up to the raw limit: 1920 × 1080 RGBA by default.
        Assert.True(bytes >= new Router.Gateway.Ingest.RawIngestOptions().MaxMessageBytes, $"proxy-body-size {body} is below the raw frame limit");
    }

    /// <summary>Paths the gateway serves that must stay inside the cluster (probes; metrics list every tenant's cameras).</summary>
    public static readonly string[] InternalPaths = ["/healthz", "/readyz", "/metrics"];

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Ingress_RoutesTheApiAndEveryViewerFile_ButNoInternalEndpoint(string kustomization)
    {
        var paths = IngressPaths(Manifests.Render(kustomization));
        foreach (var internalPath in InternalPaths)
            Assert.False(paths.Any(p => IngressMatches(p, internalPath)), $"{kustomization}: the Ingress routes {internalPath}");
        foreach (var publicPath in new[] { "/v1/sources", "/v1/sources/robot-01/video/stream", "/v1/sources/robot-01/video/frames", "/ws/device", "/" })
            Assert.True(paths.Any(p => IngressMatches(p, publicPath)), $"{kustomization}: the Ingress does not route {publicPath}");

        // The viewer is embedded in Router.Gateway (wwwroot/**): each of its files needs a route.
        const string prefix = "Router.Gateway.wwwroot.";
        var files = typeof(Router.Gateway.GatewayOptions).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Select(n => "/" + n[prefix.Length..]).ToList();
        Assert.Contains("/index.html", files);
        foreach (var file in files)
            Assert.True(paths.Any(p => IngressMatches(p, file)), $"{kustomization}: the Ingress does not route the viewer file {file}");
    }

    /// <summary>The (path, pathType) pairs of every Ingress rule.</summary>
    public static IReadOnlyList<(string Path, string Type)> IngressPaths(Manifests m) =>
        m.OfKind("Ingress").SelectMany(i => i.Spec!.Seq("rules")).OfType<YamlMappingNode>()
            .SelectMany(r => r.Map("http")?.Seq("paths") ?? []).OfType<YamlMappingNode>()
            .Select(p => (p.Str("path") ?? "/", p.Str("pathType") ?? "Prefix")).ToList();

    /// <summary>Kubernetes' matching: Exact is equality; Prefix matches whole path elements split by '/'.</summary>
    public static bool IngressMatches((string Path, string Type) rule, string path)
    {
        if (rule.Type == "Exact") return rule.Path == path;
        var prefix = rule.Path.TrimEnd('/');
        return prefix.Length == 0 || path == prefix || path.StartsWith(prefix + "/", StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void ExampleSecret_IsTheDocumentedExampleKey_AndTheGatewayAcceptsIt(string kustomization)
    {
        var gateways = Manifests.Render(kustomization).WorkloadOfRole(GatewayRole);
        var options = new ApiKeyOptions();
        gateways.Configuration().GetSection("Router").Bind(options);
        Assert.NotEmpty(options.ApiKeys);
        var store = new ApiKeyStore(Options.Create(options)); // validates every hash and tenant as the gateway does
        var identity = store.Authenticate(ExampleApiKey);
        Assert.NotNull(identity);
        Assert.Equal("example", identity.Tenant);
        Assert.True(identity.Has(ApiScopes.Ingest) && identity.Has(ApiScopes.View));
        Assert.Null(store.Authenticate(ExampleApiKey + "\n")); // hashed without a trailing newline

        var docs = File.ReadAllText(Path.Combine(TestMedia.RepoRoot(), "docs", "deploy.md"));
        Assert.Contains(ExampleApiKey, docs);
        Assert.Contains("printf %s", docs);
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void EveryWorkload_RunsTheOneRouterImage_InItsOwnRole(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        foreach (var w in m.Workloads)
            Assert.All(w.Containers, c => Assert.Equal(Image, Manifests.ImageName(c.Str("image"))));
        Assert.Equal(["gateway", "node"], m.Workloads.Select(w => w.Configuration()["Router:Role"]).Order());
        Assert.Single(m.Workloads.SelectMany(w => w.Containers).Select(c => c.Str("image")).Distinct());
    }

    [Fact]
    public void ExampleOverlay_PinsImageTags()
    {
        var m = Manifests.Render("deploy/k8s/overlays/example");
        foreach (var image in m.Workloads.SelectMany(w => w.Containers).Select(c => c.Str("image")!))
        {
            var name = image[(image.LastIndexOf('/') + 1)..];
            Assert.True(name.Contains(':') && !name.EndsWith(":latest"), $"overlay image {image} has no pinned tag");
        }
    }

    /// <summary>The one workload whose pod labels include every label of <paramref name="selector"/>.</summary>
    private static Workload SelectedWorkload(Manifests m, YamlMappingNode? selector, string what)
    {
        var labels = selector?.Scalars().ToList() ?? [];
        Assert.True(labels.Count > 0, $"{what}: empty selector");
        var matches = m.Workloads.Where(w => labels.All(l => w.PodLabels.TryGetValue(l.Key, out var v) && v == l.Value)).ToList();
        Assert.True(matches.Count == 1, $"{what}: selector {string.Join(",", labels)} matches {matches.Count} workloads");
        return matches[0];
    }

    /// <summary>Ports of a Kestrel URL list such as <c>http://+:8080;http://+:8081</c>.</summary>
    private static IEnumerable<int> UrlPorts(string urls) =>
        urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(u => Regex.Match(u, @":(\d+)/?$")).Where(x => x.Success).Select(x => int.Parse(x.Groups[1].Value));
}
