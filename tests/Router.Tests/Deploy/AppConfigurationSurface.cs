using Microsoft.Extensions.Configuration;
using Router.Actors.Hosting;
using Router.Node;

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
/// What a pod's environment may hold, judged by the app's own configuration surface
/// (<see cref="RouterNodeApp.ConfigurationSurface"/>, derived from the options types) for every <c>Router:*</c> key,
/// plus the settings outside <c>Router</c> that the ASP.NET Core host and the .NET runtime read themselves.
/// </summary>
public static class AppConfigurationSurface
{
    /// <summary>Variables the ASP.NET Core host reads itself (Kestrel's addresses).</summary>
    public static readonly IReadOnlySet<string> HostVariables = new HashSet<string>(StringComparer.Ordinal) { "ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS" };

    private static RouterSettingRoles Role(RouterProgram program) =>
        program == RouterProgram.Node ? RouterSettingRoles.Node : RouterSettingRoles.Gateway;

    /// <summary>
    /// Null when <paramref name="program"/> reads the environment variable <paramref name="name"/>, else why not.
    /// Downward-API variables (POD_NAME…) are not judged here: they are for <c>$(…)</c> expansion only.
    /// </summary>
    public static string? WhyNotRead(RouterProgram program, string name)
    {
        if (HostVariables.Contains(name)) return null;
        if (name.StartsWith("DOTNET_", StringComparison.Ordinal)) return null; // the .NET runtime's own settings
        var path = name.Split("__");
        if (path[0].Equals("Logging", StringComparison.OrdinalIgnoreCase))
            return path.Length >= 3 && !path.Any(string.IsNullOrEmpty) ? null : $"{name}: Logging settings look like Logging__LogLevel__<Category>";
        if (!path[0].Equals(RouterConfigurationSurface.Root, StringComparison.OrdinalIgnoreCase))
            return $"{name}: {program} reads no configuration section {path[0]} (it reads Router, Logging, {string.Join(", ", HostVariables)})";
        return RouterNodeApp.ConfigurationSurface.WhyNotRead(name, Role(program));
    }

    /// <summary>
    /// The app's own start-up check of <paramref name="configuration"/> for <paramref name="program"/>'s role: unknown
    /// keys, values that do not convert, sections the role does not read.
    /// </summary>
    public static IReadOnlyList<string> BindErrors(RouterProgram program, IConfiguration configuration) =>
        RouterNodeApp.ConfigurationSurface.Problems(configuration, Role(program));
}
