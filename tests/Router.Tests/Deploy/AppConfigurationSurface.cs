using System.Collections;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Router.Actors.Camera;
using Router.Actors.Hosting;
using Router.Gateway;
using Router.Gateway.Security;

namespace Router.Tests.Deploy;

/// <summary>The two roles a Kubernetes pod runs Router.Node in.</summary>
public enum RouterProgram
{
    /// <summary>Router.Node (<c>RouterNodeApp</c>) with <c>Router:Role=node</c>.</summary>
    Node,

    /// <summary>Router.Node (<c>RouterNodeApp</c>) with <c>Router:Role=gateway</c>.</summary>
    Gateway,
}

/// <summary>
/// The configuration each executable reads, taken from the code: which sections it binds to which options class
/// (<see cref="RouterConfiguration"/>, <see cref="GatewayHostingExtensions.AddRouterGateway"/>, RouterNodeApp), plus the ASP.NET Core host's own settings. An environment variable <c>A__B__C</c> is the
/// configuration path <c>A:B:C</c>, which must name a settable property of the bound class (by reflection).
/// </summary>
public static class AppConfigurationSurface
{
    /// <summary>Sections by program: path → type the app binds there (string: a single value).</summary>
    public static IReadOnlyDictionary<string, Type> Sections(RouterProgram program) => program switch
    {
        // RouterNodeApp.Build: role, RouterConfiguration.Cluster/Camera/PullSources (the gateway sections only in standalone).
        RouterProgram.Node => new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase)
        {
            ["Router:Role"] = typeof(string),
            ["Router:Cluster"] = typeof(RouterClusterOptions),
            ["Router:Camera"] = typeof(CameraOptions),
            ["Router:PullSources"] = typeof(List<PullSourceEntry>),
        },
        // RouterNodeApp.Build, role gateway: role, RouterConfiguration.Cluster/PullSources, AddRouterGateway (Gateway, ApiKeys, Camera).
        RouterProgram.Gateway => new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase)
        {
            ["Router:Role"] = typeof(string),
            ["Router:Cluster"] = typeof(RouterClusterOptions),
            ["Router:Gateway"] = typeof(GatewayOptions),
            ["Router:ApiKeys"] = typeof(List<ApiKeyEntry>),
            ["Router:Camera"] = typeof(CameraOptions),
            ["Router:PullSources"] = typeof(List<PullSourceEntry>),
        },
        _ => throw new ArgumentOutOfRangeException(nameof(program)),
    };

    /// <summary>Variables the ASP.NET Core host reads itself (Kestrel's addresses).</summary>
    public static readonly IReadOnlySet<string> HostVariables = new HashSet<string>(StringComparer.Ordinal) { "ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS" };

    /// <summary>
    /// Null when <paramref name="program"/> reads the environment variable <paramref name="name"/>, else why not.
    /// Downward-API variables (POD_NAME…) are not judged here: they are for <c>$(…)</c> expansion only.
    /// </summary>
    public static string? WhyNotRead(RouterProgram program, string name)
    {
        if (HostVariables.Contains(name)) return null;
        if (name.StartsWith("DOTNET_", StringComparison.Ordinal)) return null; // the .NET runtime's own settings
        var path = name.Split("__");
        if (path.Any(string.IsNullOrEmpty)) return $"{name}: empty configuration path segment";
        if (path[0].Equals("Logging", StringComparison.OrdinalIgnoreCase))
            return path.Length >= 3 ? null : $"{name}: Logging settings look like Logging__LogLevel__<Category>";
        foreach (var (section, type) in Sections(program).OrderByDescending(s => s.Key.Length))
        {
            var sectionPath = section.Split(':');
            if (path.Length < sectionPath.Length || !sectionPath.Select((s, i) => s.Equals(path[i], StringComparison.OrdinalIgnoreCase)).All(b => b))
                continue;
            var error = Walk(type, path.Skip(sectionPath.Length).ToArray(), section);
            return error is null ? null : $"{name}: {error}";
        }
        return $"{name}: {program} reads no configuration section {string.Join(':', path.Take(2))} " +
               $"(it reads {string.Join(", ", Sections(program).Keys)}, Logging, {string.Join(", ", HostVariables)})";
    }

    /// <summary>
    /// Binds every section of <paramref name="program"/> from <paramref name="configuration"/> with the real binder,
    /// rejecting unknown keys and values that do not convert; returns the errors.
    /// </summary>
    public static IReadOnlyList<string> BindErrors(RouterProgram program, IConfiguration configuration)
    {
        var errors = new List<string>();
        foreach (var (section, type) in Sections(program))
        {
            if (type == typeof(string)) continue;
            try
            {
                configuration.GetSection(section).Get(type, o => o.ErrorOnUnknownConfiguration = true);
            }
            catch (InvalidOperationException e)
            {
                errors.Add($"{section}: {e.Message}{(e.InnerException is null ? string.Empty : " " + e.InnerException.Message)}");
            }
        }
        return errors;
    }

    private static string? Walk(Type type, string[] rest, string at)
    {
        if (rest.Length == 0)
            return IsScalar(type)
                ? null
                : $"{at} is a {Describe(type)}; set one of its {(ElementType(type) is null ? "properties" : "elements")}, not the whole";
        var segment = rest[0];
        if (IsScalar(type)) return $"{at} is a single value ({Describe(type)}); it has no '{segment}'";
        if (ElementType(type) is { } element)
        {
            return int.TryParse(segment, out var index) && index >= 0
                ? Walk(element, rest[1..], $"{at}:{segment}")
                : $"{at} is a list; '{segment}' is not an index";
        }
        var property = type.GetProperty(segment, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        if (property is null || (property.SetMethod is not { IsPublic: true } && ElementType(property.PropertyType) is null))
        {
            var known = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name);
            return $"{type.Name} has no settable property '{segment}' (it has {string.Join(", ", known)})";
        }
        return Walk(property.PropertyType, rest[1..], $"{at}:{property.Name}");
    }

    private static bool IsScalar(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan) ||
               type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(Uri) || type == typeof(Guid);
    }

    private static Type? ElementType(Type type)
    {
        if (type == typeof(string)) return null;
        if (type.IsArray) return type.GetElementType();
        if (type.IsGenericType && typeof(IEnumerable).IsAssignableFrom(type) && type.GetGenericArguments().Length == 1)
            return type.GetGenericArguments()[0];
        return null;
    }

    private static string Describe(Type type) => ElementType(type) is { } e ? $"list of {Describe(e)}" : type.Name;
}
