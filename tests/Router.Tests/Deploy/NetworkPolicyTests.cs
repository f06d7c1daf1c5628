using Router.Tests.Media;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace Router.Tests.Deploy;

/// <summary>
/// The NetworkPolicies of deploy/k8s (base/networkpolicy.yaml) evaluated with Kubernetes' semantics against the rendered
/// workloads: remoting (no TLS) only between Router pods of the namespace, every exposed port admitted from whoever
/// needs it (Ingress controller, Prometheus, the namespace), everything else refused.
/// </summary>
public sealed class NetworkPolicyTests
{
    /// <summary>The label every Router pod carries and the workloads' selectors use.</summary>
    public static readonly KeyValuePair<string, string> RouterLabel = new("app.kubernetes.io/name", "router");

    /// <summary>The policies docs/deploy.md describes.</summary>
    public static readonly string[] PolicyNames = ["router-default-deny", "router-remoting", "router-gateway-http", "router-node-http"];

    public static TheoryData<string> Kustomizations => new(Manifests.Kustomizations);

    private static readonly Dictionary<string, string> NoLabels = [];

    private static readonly PeerPod IngressController = PeerPod.InNamespace("ingress-nginx",
        new Dictionary<string, string> { ["app.kubernetes.io/name"] = "ingress-nginx", ["app.kubernetes.io/component"] = "controller" });

    private static readonly PeerPod Prometheus = PeerPod.InNamespace("monitoring", new Dictionary<string, string> { ["app.kubernetes.io/name"] = "prometheus" });

    private static readonly PeerPod OtherApp = PeerPod.InNamespace("default", new Dictionary<string, string> { ["app"] = "shop" });

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Policies_AreRendered_InTheWorkloadsNamespace_AndSelectOnlyRouterPods(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        var policies = new NetworkPolicies(m).Policies;
        Assert.Equal(PolicyNames.Order(), policies.Select(p => p.Name).Order());
        var docs = File.ReadAllText(Path.Combine(TestMedia.RepoRoot(), "docs", "deploy.md"));
        foreach (var p in policies)
        {
            Assert.Equal("networking.k8s.io/v1", p.Root.Str("apiVersion"));
            Assert.Equal(["Ingress"], NetworkPolicies.PolicyTypes(p));
            Assert.Contains($"`{p.Name}`", docs);
            var selector = p.Spec!.Map("podSelector");
            // Never a pod without the Router label (podSelector {} would isolate every pod of the namespace).
            Assert.False(NetworkPolicies.Selects(selector, NoLabels), $"{p}: selects pods that are not Router's");
            var selected = m.Workloads.Where(w => w.Namespace == p.Namespace && NetworkPolicies.Selects(selector, w.PodLabels)).ToList();
            Assert.True(selected.Count > 0, $"{kustomization}: {p} selects no workload's pods (labels {string.Join(", ", m.Workloads.Select(w => $"{w.Name}: {string.Join(",", w.PodLabels)}"))})");
        }

        Assert.All(m.Workloads, w => Assert.Equal(RouterLabel.Value, w.Spec.Map("selector")!.Map("matchLabels")!.Str(RouterLabel.Key)));
        var nodes = m.WorkloadOfRole(ManifestTests.NodeRole);
        var gateways = m.WorkloadOfRole(ManifestTests.GatewayRole);
        // The role-specific policies select exactly their role's pods; the others every Router pod.
        Assert.Equal([gateways.Name], SelectedBy(m, "router-gateway-http"));
        Assert.Equal([nodes.Name], SelectedBy(m, "router-node-http"));
        Assert.Equal(new[] { nodes.Name, gateways.Name }.Order(), SelectedBy(m, "router-remoting"));
        Assert.Equal(new[] { nodes.Name, gateways.Name }.Order(), SelectedBy(m, "router-default-deny"));
        Assert.Empty(m.Get("NetworkPolicy", "router-default-deny").Spec!.Seq("ingress"));
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Remoting_IsAdmittedOnlyFromRouterPods_OfTheNamespace(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        var policies = new NetworkPolicies(m);
        var members = m.Workloads.ToList();
        foreach (var w in members)
        {
            var remoting = w.PortNamed("remoting") ?? throw new Xunit.Sdk.XunitException($"{w.Object}: no remoting port");

            // Every rule that covers the port names its peers, and each is a pod selector of this namespace that
            // requires the Router label: no namespaceSelector, no ipBlock, no rule open to all.
            var rules = policies.RulesCovering(w, remoting).ToList();
            Assert.NotEmpty(rules);
            foreach (var (policy, rule) in rules)
            {
                var peers = rule.Seq("from").OfType<YamlMappingNode>().ToList();
                Assert.True(peers.Count > 0, $"{policy}: a rule admits {remoting} on {w.Object} from everyone");
                foreach (var peer in peers)
                {
                    Assert.True(peer.Map("namespaceSelector") is null && peer.Map("ipBlock") is null,
                        $"{policy}: a peer admitted to {remoting} on {w.Object} is not limited to this namespace's pods");
                    Assert.True(peer.Map("podSelector")?.Map("matchLabels")?.Str(RouterLabel.Key) == RouterLabel.Value,
                        $"{policy}: a peer admitted to {remoting} on {w.Object} does not require {RouterLabel.Key}={RouterLabel.Value}");
                }
            }

            // Every member (node or gateway) reaches every member; nobody else does.
            foreach (var from in members)
            {
                var source = PeerPod.InNamespace(from.Namespace, from.PodLabels);
                Assert.True(policies.Admits(w, remoting, source), $"{kustomization}: {w.Object} refuses remoting from {from.Object}");
            }
            var strangers = new[]
            {
                PeerPod.InNamespace(w.Namespace, NoLabels),
                PeerPod.InNamespace(w.Namespace, new Dictionary<string, string> { ["app.kubernetes.io/part-of"] = "router" }),
                PeerPod.InNamespace("elsewhere", w.PodLabels),
                IngressController, Prometheus, OtherApp, PeerPod.External(), PeerPod.External("10.0.0.5"),
            };
            foreach (var stranger in strangers)
                Assert.False(policies.Admits(w, remoting, stranger), $"{kustomization}: {w.Object} admits remoting from {stranger}");
        }
    }

    /// <summary>Nothing silently blocked: each container port and each Service port has its clients; the rest is refused.</summary>
    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void EveryExposedPort_IsAdmittedFromItsClients_AndNothingElse(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        var policies = new NetworkPolicies(m);
        var nodes = m.WorkloadOfRole(ManifestTests.NodeRole);
        var gateways = m.WorkloadOfRole(ManifestTests.GatewayRole);
        var everyone = new[] { IngressController, Prometheus, OtherApp, PeerPod.External(), PeerPod.InNamespace(nodes.Namespace, NoLabels) }
            .Concat(m.Workloads.Select(w => PeerPod.InNamespace(w.Namespace, w.PodLabels))).ToList();

        foreach (var w in m.Workloads)
        {
            Assert.NotEmpty(policies.IngressPoliciesOf(w)); // isolated: what no policy admits is refused
            foreach (var port in w.ContainerPorts)
                Assert.True(everyone.Any(s => policies.Admits(w, port, s)), $"{kustomization}: {w.Object} port {port} is admitted from nowhere");
            Assert.DoesNotContain(9999, w.ContainerPorts);
            Assert.All(everyone, s => Assert.False(policies.Admits(w, 9999, s), $"{w.Object} admits an undeclared port from {s}"));
        }

        // Services: each target port admitted from a pod of the namespace (what the Service's clients are, at least).
        foreach (var service in m.OfKind("Service"))
        {
            var selector = service.Spec!.Map("selector")!;
            var workload = m.Workloads.Single(w => NetworkPolicies.Selects(new YamlMappingNode { { "matchLabels", selector } }, w.PodLabels));
            foreach (var port in service.Spec!.Seq("ports").OfType<YamlMappingNode>())
            {
                var target = workload.ResolvePort(port.Str("targetPort") ?? port.Str("port"))!.Value;
                var client = target == workload.PortNamed("remoting") ? PeerPod.InNamespace(workload.Namespace, gateways.PodLabels) : PeerPod.InNamespace(workload.Namespace, NoLabels);
                Assert.True(policies.Admits(workload, target, client), $"{service}: port {port.Str("name")} → {target} refused for {client}");
            }
        }

        // Gateways' HTTP: the Ingress controller wherever it runs (its own namespace, or the host network / a load
        // balancer: an address outside the pod network).
        var gatewayHttp = gateways.PortNamed("http")!.Value;
        foreach (var client in new[] { IngressController, PeerPod.External(), OtherApp, Prometheus })
            Assert.True(policies.Admits(gateways, gatewayHttp, client), $"{kustomization}: gateway HTTP {gatewayHttp} refused for {client}");

        // Nodes' HTTP (health and metrics only): the namespace and Prometheus in "monitoring"; not other namespaces.
        var nodeHttp = nodes.PortNamed("http")!.Value;
        foreach (var client in new[] { PeerPod.InNamespace(nodes.Namespace, NoLabels), PeerPod.InNamespace(nodes.Namespace, gateways.PodLabels), Prometheus })
            Assert.True(policies.Admits(nodes, nodeHttp, client), $"{kustomization}: node HTTP {nodeHttp} refused for {client}");
        foreach (var client in new[] { IngressController, OtherApp, PeerPod.External() })
            Assert.False(policies.Admits(nodes, nodeHttp, client), $"{kustomization}: node HTTP {nodeHttp} admitted for {client}");
    }

    /// <summary>The prometheus.io/port annotation of every pod template is reachable from Prometheus in "monitoring".</summary>
    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void ScrapedPort_IsAdmittedFromPrometheus(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        var policies = new NetworkPolicies(m);
        foreach (var w in m.Workloads)
        {
            var annotations = w.Spec.Map("template")!.Map("metadata")!.Map("annotations")!;
            var port = w.ResolvePort(annotations.Str("prometheus.io/port")) ?? throw new Xunit.Sdk.XunitException($"{w.Object}: no prometheus.io/port");
            Assert.True(policies.Admits(w, port, Prometheus), $"{kustomization}: {w.Object} refuses the scrape of {port} from {Prometheus}");
        }
    }

    /// <summary>The evaluator itself, on hand-written policies: it must be able to say no as well as yes.</summary>
    [Fact]
    public void Evaluator_FollowsKubernetesSemantics()
    {
        const string yaml = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: a}
            spec:
              template:
                metadata: {labels: {app: web}}
                spec:
                  containers: [{name: web, ports: [{name: http, containerPort: 80}, {name: admin, containerPort: 9000}]}]
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: free, namespace: a}
            spec:
              template:
                metadata: {labels: {app: free}}
                spec:
                  containers: [{name: free, ports: [{name: http, containerPort: 80}]}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: p, namespace: a}
            spec:
              podSelector: {matchExpressions: [{key: app, operator: In, values: [web]}]}
              ingress:
                - ports: [{port: http}]
                - from: [{podSelector: {matchLabels: {role: ops}}}, {ipBlock: {cidr: 192.168.0.0/16, except: [192.168.1.0/24]}}]
                  ports: [{port: 9000, endPort: 9001}]
            """;
        var m = Manifests.Parse("inline", yaml);
        var policies = new NetworkPolicies(m);
        var web = m.Workloads.Single(w => w.Name == "web");
        var free = m.Workloads.Single(w => w.Name == "free");
        var ops = new Dictionary<string, string> { ["role"] = "ops" };

        Assert.True(policies.Admits(free, 1234, PeerPod.External()));          // selected by no policy: open
        Assert.True(policies.Admits(web, 80, PeerPod.External()));             // named port, no from: everyone
        Assert.False(policies.Admits(web, 81, PeerPod.InNamespace("a", ops))); // isolated: no rule covers 81
        Assert.True(policies.Admits(web, 9000, PeerPod.InNamespace("a", ops)));
        Assert.False(policies.Admits(web, 9000, PeerPod.InNamespace("b", ops)));  // podSelector alone: own namespace only
        Assert.False(policies.Admits(web, 9000, PeerPod.InNamespace("a", NoLabels)));
        Assert.True(policies.Admits(web, 9000, PeerPod.External("192.168.2.1")));
        Assert.False(policies.Admits(web, 9000, PeerPod.External("192.168.1.1"))); // except
        Assert.False(policies.Admits(web, 9002, PeerPod.External("192.168.2.1"))); // beyond endPort
    }

    private static string[] SelectedBy(Manifests m, string policy)
    {
        var p = m.Get("NetworkPolicy", policy);
        return m.Workloads.Where(w => w.Namespace == p.Namespace && NetworkPolicies.Selects(p.Spec!.Map("podSelector"), w.PodLabels))
            .Select(w => w.Name).Order().ToArray();
    }
}
