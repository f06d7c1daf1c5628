using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Router.Tests.Media;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace Router.Tests.Deploy;

/// <summary>One Kubernetes object of a rendered kustomization.</summary>
public sealed record K8sObject(string Kind, string Name, string? Namespace, YamlMappingNode Root)
{
    public YamlMappingNode? Spec => Root.Map("spec");

    public override string ToString() => $"{Kind}/{Name}";
}

/// <summary>
/// The manifests of <c>deploy/k8s</c> as Kubernetes would see them: <c>kubectl kustomize</c> renders a kustomization
/// and YamlDotNet parses every document.
/// </summary>
public sealed class Manifests
{
    /// <summary>The kustomizations under <c>deploy/k8s</c> that the tests render (base via the root, and the example overlay).</summary>
    public static readonly string[] Kustomizations = ["deploy/k8s", "deploy/k8s/overlays/example"];

    private static readonly ConcurrentDictionary<string, Lazy<Manifests>> Cache = new();

    private Manifests(string kustomization, IReadOnlyList<K8sObject> objects)
    {
        Kustomization = kustomization;
        Objects = objects;
    }

    public string Kustomization { get; }

    public IReadOnlyList<K8sObject> Objects { get; }

    /// <summary>Renders <paramref name="kustomization"/> (relative to the repository root) once per test run.</summary>
    public static Manifests Render(string kustomization) =>
        Cache.GetOrAdd(kustomization, k => new Lazy<Manifests>(() => Parse(k, Kubectl.Kustomize(Path.Combine(TestMedia.RepoRoot(), k))))).Value;

    /// <summary>Parses a multi-document YAML stream (as <c>kubectl kustomize</c> prints it).</summary>
    public static Manifests Parse(string kustomization, string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var objects = new List<K8sObject>();
        foreach (var doc in stream.Documents)
        {
            if (doc.RootNode is not YamlMappingNode root) continue;
            var kind = root.Str("kind") ?? throw new InvalidDataException($"{kustomization}: a document has no kind");
            var name = root.Map("metadata")?.Str("name") ?? throw new InvalidDataException($"{kustomization}: a {kind} has no name");
            objects.Add(new K8sObject(kind, name, root.Map("metadata")!.Str("namespace"), root));
        }
        return new Manifests(kustomization, objects);
    }

    public IEnumerable<K8sObject> OfKind(string kind) => Objects.Where(o => o.Kind == kind);

    public K8sObject? Find(string kind, string name) => Objects.SingleOrDefault(o => o.Kind == kind && o.Name == name);

    public K8sObject Get(string kind, string name) =>
        Find(kind, name) ?? throw new Xunit.Sdk.XunitException($"{Kustomization}: no {kind} named '{name}' (have: {string.Join(", ", Objects)})");

    /// <summary>The StatefulSets and Deployments.</summary>
    public IEnumerable<Workload> Workloads =>
        Objects.Where(o => o.Kind is "StatefulSet" or "Deployment").Select(o => new Workload(this, o));

    /// <summary>
    /// The workload whose pods run Router in <paramref name="role"/> (node or gateway): its configuration's
    /// <c>Router:Role</c>, as the app reads it. Both run the same image.
    /// </summary>
    public Workload WorkloadOfRole(string role)
    {
        var matches = Workloads.Where(w => w.Configuration()["Router:Role"] == role).ToList();
        Assert.True(matches.Count == 1, $"{Kustomization}: expected one workload with Router:Role={role}, found {matches.Count}");
        return matches[0];
    }

    /// <summary>The last path segment of an image reference, without tag or digest.</summary>
    public static string ImageName(string? image)
    {
        if (image is null) return string.Empty;
        var at = image.IndexOf('@');
        if (at >= 0) image = image[..at];
        var slash = image.LastIndexOf('/');
        var name = slash >= 0 ? image[(slash + 1)..] : image;
        var colon = name.IndexOf(':');
        return colon >= 0 ? name[..colon] : name;
    }

    /// <summary>The key/values of a ConfigMap (<c>data</c>) or Secret (<c>data</c> base64-decoded, and <c>stringData</c>).</summary>
    public IReadOnlyDictionary<string, string> DataOf(string kind, string name)
    {
        var obj = Get(kind, name);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in obj.Root.Map("data")?.Scalars() ?? [])
            result[k] = kind == "Secret" ? Encoding.UTF8.GetString(Convert.FromBase64String(v)) : v;
        foreach (var (k, v) in obj.Root.Map("stringData")?.Scalars() ?? []) result[k] = v;
        return result;
    }
}

/// <summary>A StatefulSet or Deployment and the environment its first container gets.</summary>
public sealed class Workload(Manifests manifests, K8sObject obj)
{
    public K8sObject Object { get; } = obj;

    public string Name => Object.Name;

    public string Namespace => Object.Namespace ?? "default";

    public YamlMappingNode Spec => Object.Spec!;

    public YamlMappingNode PodSpec => Spec.Map("template")?.Map("spec") ?? throw new Xunit.Sdk.XunitException($"{Object} has no pod template");

    public IReadOnlyDictionary<string, string> PodLabels =>
        Spec.Map("template")?.Map("metadata")?.Map("labels")?.Scalars().ToDictionary() ?? [];

    public IReadOnlyList<YamlMappingNode> Containers => PodSpec.Seq("containers").OfType<YamlMappingNode>().ToList();

    public YamlMappingNode Container => Containers.Single();

    public int Replicas => int.Parse(Spec.Str("replicas") ?? "1");

    /// <summary>containerPort of the container port named <paramref name="name"/>.</summary>
    public int? PortNamed(string name) =>
        Container.Seq("ports").OfType<YamlMappingNode>().Where(p => p.Str("name") == name)
            .Select(p => (int?)int.Parse(p.Str("containerPort")!)).SingleOrDefault();

    public IReadOnlyList<int> ContainerPorts =>
        Container.Seq("ports").OfType<YamlMappingNode>().Select(p => int.Parse(p.Str("containerPort")!)).ToList();

    /// <summary>Resolves a probe's or Service's port (a number or a container port name) to a number.</summary>
    public int? ResolvePort(string? port) => port is null ? null : int.TryParse(port, out var n) ? n : PortNamed(port);

    /// <summary>
    /// The container's environment in Kubernetes' order: every <c>envFrom</c> source, then <c>env</c> (later wins), with
    /// where each variable comes from.
    /// </summary>
    public IReadOnlyList<EnvVar> Environment
    {
        get
        {
            var vars = new List<EnvVar>();
            foreach (var from in Container.Seq("envFrom").OfType<YamlMappingNode>())
            {
                var prefix = from.Str("prefix") ?? string.Empty;
                var (kind, refNode) = from.Map("configMapRef") is { } cm ? ("ConfigMap", cm) : ("Secret", from.Map("secretRef")!);
                var source = $"{kind}/{refNode.Str("name")}";
                foreach (var (k, v) in manifests.DataOf(kind, refNode.Str("name")!)) vars.Add(new EnvVar(prefix + k, v, source, null));
            }
            foreach (var e in Container.Seq("env").OfType<YamlMappingNode>())
            {
                var fieldPath = e.Map("valueFrom")?.Map("fieldRef")?.Str("fieldPath");
                var source = e.Map("valueFrom") is null ? "env" : fieldPath is null ? "valueFrom" : "fieldRef";
                vars.Add(new EnvVar(e.Str("name")!, e.Str("value"), source, fieldPath));
            }
            return vars;
        }
    }

    /// <summary>
    /// The environment the process would see, with downward-API fields given sample values (<paramref name="fields"/>,
    /// default: this pod's name <c>{name}-0</c>, its namespace, IP 10.0.0.7) and <c>$(VAR)</c> references expanded as
    /// Kubernetes does. A reference to an undefined variable fails the test: Kubernetes would leave it verbatim.
    /// </summary>
    public IReadOnlyDictionary<string, string> ResolvedEnvironment(IReadOnlyDictionary<string, string>? fields = null)
    {
        fields ??= SampleFields(0);
        var resolved = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var v in Environment)
        {
            if (v.FieldPath is not null)
            {
                Assert.True(fields.TryGetValue(v.FieldPath, out var field), $"{Object}: {v.Name} uses fieldRef {v.FieldPath}, which the test does not model");
                resolved[v.Name] = field!;
                continue;
            }
            var value = v.Value ?? string.Empty;
            resolved[v.Name] = v.Source == "env" ? Expand(v.Name, value, resolved) : value;
        }
        return resolved;
    }

    /// <summary>Downward-API sample values for the pod with ordinal <paramref name="ordinal"/>.</summary>
    public IReadOnlyDictionary<string, string> SampleFields(int ordinal) => new Dictionary<string, string>
    {
        ["metadata.name"] = $"{Name}-{ordinal}",
        ["metadata.namespace"] = Namespace,
        ["status.podIP"] = $"10.0.0.{7 + ordinal}",
    };

    /// <summary>Names referenced as <c>$(NAME)</c> by <c>env</c> values.</summary>
    public ISet<string> ReferencedVariables() =>
        Environment.Where(v => v.Source == "env" && v.Value is not null)
            .SelectMany(v => VariableReference.Matches(v.Value!).Select(m => m.Groups[1].Value)).ToHashSet();

    /// <summary>An <see cref="IConfiguration"/> built from the environment as ASP.NET does (<c>__</c> is <c>:</c>).</summary>
    public IConfiguration Configuration(IReadOnlyDictionary<string, string>? fields = null) =>
        new ConfigurationBuilder().AddInMemoryCollection(
            ResolvedEnvironment(fields).Select(kv => new KeyValuePair<string, string?>(kv.Key.Replace("__", ":"), kv.Value))).Build();

    private static readonly Regex VariableReference = new(@"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)");

    private string Expand(string name, string value, Dictionary<string, string> defined) =>
        VariableReference.Replace(value, m => defined.TryGetValue(m.Groups[1].Value, out var v)
            ? v
            : throw new Xunit.Sdk.XunitException($"{Object}: {name} refers to $({m.Groups[1].Value}), which is not defined before it"));
}

/// <summary>One environment variable of a container; <see cref="Source"/> is <c>env</c>, <c>fieldRef</c>, <c>ConfigMap/x</c> or <c>Secret/x</c>.</summary>
public sealed record EnvVar(string Name, string? Value, string Source, string? FieldPath);

/// <summary>Runs <c>kubectl</c> (the <c>KUBECTL</c> environment variable, else <c>kubectl</c> on PATH).</summary>
public static class Kubectl
{
    public static string Path => System.Environment.GetEnvironmentVariable("KUBECTL") is { Length: > 0 } k
        ? File.Exists(k) ? k : throw new Xunit.Sdk.XunitException($"KUBECTL={k} does not exist")
        : Which("kubectl") ?? throw new Xunit.Sdk.XunitException(
            "kubectl was not found on PATH: the deploy/k8s tests render the manifests with `kubectl kustomize`. " +
            "Install it with `scripts/setup.sh --with-browser` (Debian's kubernetes-client) or set KUBECTL.");

    /// <summary>Prints the rendering of the kustomization in <paramref name="directory"/>; a failure fails the test with kubectl's message.</summary>
    public static string Kustomize(string directory)
    {
        var info = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("kustomize");
        info.ArgumentList.Add(directory);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"`{Path} kustomize {directory}` did not finish in 60 s");
        }
        if (process.ExitCode != 0)
            throw new Xunit.Sdk.XunitException($"`{Path} kustomize {directory}` failed ({process.ExitCode}): {stderr.Result}");
        return stdout.Result;
    }

    internal static string? Which(string name) =>
        (System.Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => System.IO.Path.Combine(dir, name)).FirstOrDefault(File.Exists);
}

/// <summary>Navigation over YamlDotNet's representation model.</summary>
public static class Yaml
{
    public static YamlNode? Child(this YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    public static YamlMappingNode? Map(this YamlMappingNode node, string key) => node.Child(key) as YamlMappingNode;

    public static string? Str(this YamlMappingNode node, string key) => (node.Child(key) as YamlScalarNode)?.Value;

    public static IEnumerable<YamlNode> Seq(this YamlMappingNode node, string key) =>
        node.Child(key) as YamlSequenceNode ?? (IEnumerable<YamlNode>)[];

    public static IEnumerable<(string Key, string Value)> Scalars(this YamlMappingNode node) =>
        node.Children.Where(c => c.Value is YamlScalarNode).Select(c => (((YamlScalarNode)c.Key).Value!, ((YamlScalarNode)c.Value).Value ?? string.Empty));

    /// <summary>Follows a dotted path of mapping keys, e.g. <c>spec.template.spec</c>.</summary>
    public static YamlNode? At(this YamlMappingNode node, string path)
    {
        YamlNode? current = node;
        foreach (var key in path.Split('.'))
            current = current is YamlMappingNode m ? m.Child(key) : null;
        return current;
    }

    public static string? StrAt(this YamlMappingNode node, string path) => (node.At(path) as YamlScalarNode)?.Value;
}
