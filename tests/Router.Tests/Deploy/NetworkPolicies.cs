using System.Net;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace Router.Tests.Deploy;

/// <summary>
/// A connection's source for <see cref="NetworkPolicies"/>: a pod (its namespace and that namespace's labels, its own
/// labels) or, with <see cref="Namespace"/> null, an address outside the cluster that only <c>ipBlock</c> peers match.
/// </summary>
public sealed record PeerPod(string? Namespace, IReadOnlyDictionary<string, string> NamespaceLabels, IReadOnlyDictionary<string, string> Labels, IPAddress Ip)
{
    /// <summary>A pod in <paramref name="ns"/>; the namespace carries <c>kubernetes.io/metadata.name</c> as Kubernetes sets it.</summary>
    public static PeerPod InNamespace(string ns, IReadOnlyDictionary<string, string> labels, string ip = "10.1.2.3") =>
        new(ns, new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = ns }, labels, IPAddress.Parse(ip));

    /// <summary>A client outside the cluster.</summary>
    public static PeerPod External(string ip = "203.0.113.9") => new(null, new Dictionary<string, string>(), new Dictionary<string, string>(), IPAddress.Parse(ip));

    public override string ToString() => Namespace is null ? $"external {Ip}" : $"pod {{{string.Join(",", Labels.Select(l => $"{l.Key}={l.Value}"))}}} in {Namespace}";
}

/// <summary>
/// Kubernetes' NetworkPolicy (networking.k8s.io/v1) ingress semantics over rendered manifests: a pod selected by no
/// policy of type Ingress admits everything; a selected pod admits a connection that some rule of some selecting
/// policy admits (ports: none = all; from: none = everyone). Label selectors with matchLabels and matchExpressions.
/// </summary>
public sealed class NetworkPolicies(Manifests manifests)
{
    public IReadOnlyList<K8sObject> Policies { get; } = manifests.OfKind("NetworkPolicy").ToList();

    /// <summary>The policies of the workload's namespace whose podSelector selects its pods and which restrict ingress.</summary>
    public IEnumerable<K8sObject> IngressPoliciesOf(Workload w) =>
        Policies.Where(p => (p.Namespace ?? "default") == w.Namespace && Selects(p.Spec!.Map("podSelector"), w.PodLabels) && PolicyTypes(p).Contains("Ingress"));

    /// <summary>Whether a pod of <paramref name="w"/> admits a TCP connection from <paramref name="source"/> to <paramref name="port"/>.</summary>
    public bool Admits(Workload w, int port, PeerPod source) => AdmittingRules(w, port, source).Any() || !IngressPoliciesOf(w).Any();

    /// <summary>The ingress rules (with their policy) that admit the connection; empty also when the pod is not isolated.</summary>
    public IEnumerable<(K8sObject Policy, YamlMappingNode Rule)> AdmittingRules(Workload w, int port, PeerPod source) =>
        RulesCovering(w, port).Where(x =>
            x.Rule.Child("from") is null || x.Rule.Seq("from").OfType<YamlMappingNode>().Any(peer => PeerMatches(x.Policy, peer, source)));

    /// <summary>The ingress rules of <paramref name="w"/>'s policies that cover <paramref name="port"/> (no ports = every port).</summary>
    public IEnumerable<(K8sObject Policy, YamlMappingNode Rule)> RulesCovering(Workload w, int port) =>
        from p in IngressPoliciesOf(w)
        from rule in p.Spec!.Seq("ingress").OfType<YamlMappingNode>()
        where RulePorts(rule).Count == 0 || RulePorts(rule).Any(rp => PortMatches(w, rp, port))
        select (p, rule);

    public static IReadOnlyList<YamlMappingNode> RulePorts(YamlMappingNode rule) => rule.Seq("ports").OfType<YamlMappingNode>().ToList();

    /// <summary>spec.policyTypes, or its default: Ingress, plus Egress when there are egress rules.</summary>
    public static IReadOnlyList<string> PolicyTypes(K8sObject policy)
    {
        var types = policy.Spec!.Seq("policyTypes").OfType<YamlScalarNode>().Select(t => t.Value!).ToList();
        if (types.Count > 0) return types;
        return policy.Spec!.Child("egress") is null ? ["Ingress"] : ["Ingress", "Egress"];
    }

    /// <summary>A label selector: every matchLabels pair and every matchExpressions term; an empty selector selects everything.</summary>
    public static bool Selects(YamlMappingNode? selector, IReadOnlyDictionary<string, string> labels)
    {
        if (selector is null) return true;
        foreach (var (k, v) in selector.Map("matchLabels")?.Scalars() ?? [])
            if (!labels.TryGetValue(k, out var actual) || actual != v) return false;
        foreach (var e in selector.Seq("matchExpressions").OfType<YamlMappingNode>())
        {
            var key = e.Str("key")!;
            var values = e.Seq("values").OfType<YamlScalarNode>().Select(s => s.Value).ToHashSet();
            var has = labels.TryGetValue(key, out var actual);
            var ok = e.Str("operator") switch
            {
                "In" => has && values.Contains(actual),
                "NotIn" => !has || !values.Contains(actual),
                "Exists" => has,
                "DoesNotExist" => !has,
                var op => throw new Xunit.Sdk.XunitException($"unknown selector operator {op}"),
            };
            if (!ok) return false;
        }
        return true;
    }

    private static bool PortMatches(Workload w, YamlMappingNode rulePort, int port)
    {
        if ((rulePort.Str("protocol") ?? "TCP") != "TCP") return false;
        var p = rulePort.Str("port");
        if (p is null) return true; // all ports of the protocol
        if (!int.TryParse(p, out var from)) return w.PortNamed(p) == port; // a named container port
        var to = int.TryParse(rulePort.Str("endPort"), out var end) ? end : from;
        return port >= from && port <= to;
    }

    private static bool PeerMatches(K8sObject policy, YamlMappingNode peer, PeerPod source)
    {
        if (peer.Map("ipBlock") is { } block)
            return InCidr(source.Ip, block.Str("cidr")!) && !block.Seq("except").OfType<YamlScalarNode>().Any(x => InCidr(source.Ip, x.Value!));
        if (source.Namespace is null) return false; // pod and namespace selectors match pods only
        var podSelector = peer.Map("podSelector");
        var namespaceSelector = peer.Map("namespaceSelector");
        var namespaceOk = namespaceSelector is null
            ? source.Namespace == (policy.Namespace ?? "default")
            : Selects(namespaceSelector, source.NamespaceLabels);
        return namespaceOk && Selects(podSelector, source.Labels);
    }

    private static bool InCidr(IPAddress ip, string cidr)
    {
        var network = IPNetwork.Parse(cidr);
        return network.Contains(ip);
    }
}
