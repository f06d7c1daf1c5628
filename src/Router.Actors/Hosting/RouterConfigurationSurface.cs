using System.Collections;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Router.Actors.Hosting;

/// <summary>Roles that read a configuration section (flags: a section may be read by several).</summary>
[Flags]
public enum RouterSettingRoles
{
    /// <summary>Read by no role (not used for a section).</summary>
    None = 0,

    /// <summary>The node role: camera shard region, pull-source capture.</summary>
    Node = 1,

    /// <summary>The gateway role: HTTP/WebSocket endpoints, relays.</summary>
    Gateway = 2,

    /// <summary>Standalone mode only (its demo camera and banner).</summary>
    Standalone = 4,

    /// <summary>Every role.</summary>
    All = Node | Gateway | Standalone,
}

/// <summary>One configuration section the app binds: its path, the type bound there, the roles that read it.</summary>
/// <param name="Path">Configuration path, e.g. <c>Router:Gateway</c>.</param>
/// <param name="Type">The options type bound there (a scalar type such as <see cref="string"/> for a single value).</param>
/// <param name="Roles">Roles whose process reads the section.</param>
public sealed record RouterSettingsSection(string Path, Type Type, RouterSettingRoles Roles);

/// <summary>
/// Every <c>Router:*</c> setting the app reads, derived from the options types by reflection: a key under
/// <c>Router</c> that names no settable property (a typo such as <c>Router:Gateway:PingIntervall</c>), a list set as
/// one value, or a value that does not convert stops the start with the key and the nearest known one.
/// Keys outside <c>Router</c> (<c>Logging</c>, ASP.NET Core's own) are not judged.
/// </summary>
public sealed class RouterConfigurationSurface
{
    /// <summary>The root section this surface owns.</summary>
    public const string Root = "Router";

    private readonly List<RouterSettingsSection> _sections;

    /// <summary>Creates a surface of <paramref name="sections"/>.</summary>
    public RouterConfigurationSurface(IEnumerable<RouterSettingsSection> sections) => _sections = sections.ToList();

    /// <summary>
    /// The sections Router.Actors binds: <c>Router:Cluster</c>, <c>Router:Camera</c>, <c>Router:PullSources</c>,
    /// <c>Router:Quotas</c> (node and gateway roles), and <c>Router:Role</c> (Router.Node's role switch).
    /// </summary>
    public static IReadOnlyList<RouterSettingsSection> CoreSections { get; } =
    [
        new("Router:Role", typeof(string), RouterSettingRoles.All),
        new("Router:Cluster", typeof(RouterClusterOptions), RouterSettingRoles.All),
        new("Router:Camera", typeof(Camera.CameraOptions), RouterSettingRoles.All),
        new("Router:PullSources", typeof(List<PullSourceEntry>), RouterSettingRoles.All),
        new("Router:Quotas", typeof(Quotas.QuotaOptions), RouterSettingRoles.All),
    ];

    /// <summary>The sections of this surface.</summary>
    public IReadOnlyList<RouterSettingsSection> Sections => _sections;

    /// <summary>A surface with <paramref name="more"/> sections added.</summary>
    public RouterConfigurationSurface With(IEnumerable<RouterSettingsSection> more) => new(_sections.Concat(more));

    /// <summary>
    /// Every problem of the <c>Router</c> section of <paramref name="configuration"/>, one per key: unknown keys (with
    /// the nearest known one), lists or sections set as one value, indexes that are not numbers, values that do not
    /// convert to the bound type. With <paramref name="role"/> given, also sections that role does not read. Empty when
    /// all is well.
    /// </summary>
    public IReadOnlyList<string> Problems(IConfiguration configuration, RouterSettingRoles? role = null)
    {
        var problems = new List<string>();
        foreach (var child in configuration.GetSection(Root).GetChildren()) CheckNode(child, child.Path, problems, role);
        foreach (var section in _sections)
        {
            var node = configuration.GetSection(section.Path);
            if (!node.Exists()) continue;
            try
            {
                if (IsScalar(section.Type)) { if (node.Value is { } v) ConvertScalar(section.Type, v); }
                else node.Get(section.Type);
            }
            catch (InvalidOperationException e)
            {
                problems.Add($"{section.Path}: {e.Message}{(e.InnerException is null ? string.Empty : " " + e.InnerException.Message)}");
            }
        }
        return problems;
    }

    /// <summary>
    /// Null when <paramref name="key"/> (a configuration path such as <c>Router:Gateway:PingInterval</c>, or an
    /// environment variable name with <c>__</c>) names a setting of this surface read by <paramref name="role"/>, else why not.
    /// </summary>
    public string? WhyNotRead(string key, RouterSettingRoles role)
    {
        var path = key.Replace("__", ":", StringComparison.Ordinal).Split(':');
        if (path.Any(string.IsNullOrEmpty)) return $"{key}: empty configuration path segment";
        var problems = new List<string>();
        CheckPath(path, 0, problems, role, leafHasValue: true);
        return problems.Count == 0 ? null : $"{key}: {problems[0]}";
    }

    private void CheckNode(IConfigurationSection node, string path, List<string> problems, RouterSettingRoles? role)
    {
        var segments = path.Split(':');
        var section = Find(segments);
        if (section is not null)
        {
            if (role is { } r && (section.Roles & r) == 0)
            {
                problems.Add($"{section.Path} is not read by the {r} role");
                return;
            }
            WalkConfig(section.Type, node, section.Path, problems);
            return;
        }
        var below = ChildNames(segments);
        if (below.Count == 0)
        {
            problems.Add(Unknown(path, segments[^1], SiblingNames(segments)));
            return;
        }
        if (!string.IsNullOrEmpty(node.Value)) problems.Add($"{path} is a section (of {string.Join(", ", below)}); set one of its keys, not the whole");
        foreach (var child in node.GetChildren()) CheckNode(child, child.Path, problems, role);
    }

    private void CheckPath(string[] path, int depth, List<string> problems, RouterSettingRoles role, bool leafHasValue)
    {
        var prefix = path.Take(depth + 1).ToArray();
        var joined = string.Join(':', prefix);
        if (depth == 0 && !path[0].Equals(Root, StringComparison.OrdinalIgnoreCase))
        {
            problems.Add($"{Root} reads no section {path[0]}");
            return;
        }
        var section = Find(prefix);
        if (section is not null)
        {
            if ((section.Roles & role) == 0) { problems.Add($"{section.Path} is not read by the {role} role"); return; }
            WalkPath(section.Type, path[(depth + 1)..], section.Path, problems);
            return;
        }
        var below = ChildNames(prefix);
        if (depth > 0 && below.Count == 0) { problems.Add(Unknown(joined, path[depth], SiblingNames(prefix))); return; }
        if (depth == path.Length - 1) { problems.Add($"{joined} is a section (of {string.Join(", ", below)}); set one of its keys, not the whole"); return; }
        CheckPath(path, depth + 1, problems, role, leafHasValue);
    }

    private RouterSettingsSection? Find(string[] segments) =>
        _sections.FirstOrDefault(s => s.Path.Equals(string.Join(':', segments), StringComparison.OrdinalIgnoreCase));

    /// <summary>Names directly below <paramref name="segments"/> among the registered section paths.</summary>
    private List<string> ChildNames(string[] segments) =>
        _sections.Select(s => s.Path.Split(':'))
            .Where(p => p.Length > segments.Length && p.Take(segments.Length).Zip(segments).All(z => z.First.Equals(z.Second, StringComparison.OrdinalIgnoreCase)))
            .Select(p => p[segments.Length]).Distinct(StringComparer.OrdinalIgnoreCase).ToList();

    private List<string> SiblingNames(string[] segments) => ChildNames(segments[..^1]);

    private static void WalkConfig(Type type, IConfigurationSection node, string at, List<string> problems)
    {
        var children = node.GetChildren().ToList();
        if (IsScalar(type))
        {
            if (children.Count > 0) problems.Add($"{at} is a single value ({Describe(type)}); it has no '{children[0].Key}'");
            return;
        }
        if (children.Count == 0)
        {
            if (!string.IsNullOrEmpty(node.Value))
                problems.Add($"{at} is a {Describe(type)}; set one of its {(ElementType(type) is null ? "properties" : "elements")}, not the whole");
            return;
        }
        foreach (var child in children)
        {
            if (DictionaryValueType(type) is { } value)
            {
                WalkConfig(value, child, $"{at}:{child.Key}", problems); // a string-keyed dictionary: any key
                continue;
            }
            if (ElementType(type) is { } element)
            {
                if (int.TryParse(child.Key, out var index) && index >= 0) WalkConfig(element, child, $"{at}:{child.Key}", problems);
                else problems.Add($"{at} is a list; '{child.Key}' is not an index");
                continue;
            }
            var property = Settable(type, child.Key);
            if (property is null) problems.Add(Unknown($"{at}:{child.Key}", child.Key, Settable(type).Select(p => p.Name).ToList()));
            else WalkConfig(property.PropertyType, child, $"{at}:{property.Name}", problems);
        }
    }

    private static void WalkPath(Type type, string[] rest, string at, List<string> problems)
    {
        if (rest.Length == 0)
        {
            if (!IsScalar(type))
                problems.Add($"{at} is a {Describe(type)}; set one of its {(ElementType(type) is null ? "properties" : "elements")}, not the whole");
            return;
        }
        var segment = rest[0];
        if (IsScalar(type)) { problems.Add($"{at} is a single value ({Describe(type)}); it has no '{segment}'"); return; }
        if (DictionaryValueType(type) is { } value)
        {
            WalkPath(value, rest[1..], $"{at}:{segment}", problems);
            return;
        }
        if (ElementType(type) is { } element)
        {
            if (int.TryParse(segment, out var index) && index >= 0) WalkPath(element, rest[1..], $"{at}:{segment}", problems);
            else problems.Add($"{at} is a list; '{segment}' is not an index");
            return;
        }
        var property = Settable(type, segment);
        if (property is null) problems.Add(Unknown($"{at}:{segment}", segment, Settable(type).Select(p => p.Name).ToList()));
        else WalkPath(property.PropertyType, rest[1..], $"{at}:{property.Name}", problems);
    }

    private static string Unknown(string key, string name, IReadOnlyList<string> known)
    {
        if (known.Count == 0) return $"{key} is not a known setting";
        var nearest = known.MinBy(k => Distance(name.ToLowerInvariant(), k.ToLowerInvariant()))!;
        var parent = key[..key.LastIndexOf(':')];
        return $"{key} is not a known setting (did you mean {parent}:{nearest}? known: {string.Join(", ", known)})";
    }

    private static IEnumerable<PropertyInfo> Settable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true } || ElementType(p.PropertyType) is not null);

    private static PropertyInfo? Settable(Type type, string name) =>
        Settable(type).FirstOrDefault(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    private static void ConvertScalar(Type type, string value)
    {
        var converter = System.ComponentModel.TypeDescriptor.GetConverter(Nullable.GetUnderlyingType(type) ?? type);
        try { converter.ConvertFromInvariantString(value); }
        catch (Exception e) when (e is FormatException or NotSupportedException or ArgumentException or OverflowException)
        {
            throw new InvalidOperationException($"'{value}' is not a {Describe(type)}", e);
        }
    }

    /// <summary>Levenshtein distance (edits) between <paramref name="a"/> and <paramref name="b"/>.</summary>
    private static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            previous = current;
        }
        return previous[b.Length];
    }

    private static bool IsScalar(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan) ||
               type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(Uri) || type == typeof(Guid);
    }

    /// <summary>The value type of a dictionary with string keys (bound key by key), else null.</summary>
    private static Type? DictionaryValueType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>) && type.GetGenericArguments()[0] == typeof(string)
            ? type.GetGenericArguments()[1]
            : null;

    private static Type? ElementType(Type type)
    {
        if (DictionaryValueType(type) is not null) return null;
        if (type == typeof(string)) return null;
        if (type.IsArray) return type.GetElementType();
        if (type.IsGenericType && typeof(IEnumerable).IsAssignableFrom(type) && type.GetGenericArguments().Length == 1)
            return type.GetGenericArguments()[0];
        return null;
    }

    private static string Describe(Type type) => ElementType(type) is { } e ? $"list of {Describe(e)}" : (Nullable.GetUnderlyingType(type) ?? type).Name;
}
