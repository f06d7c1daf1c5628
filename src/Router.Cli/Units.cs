using System.Globalization;
using System.Reflection;

namespace Router.Cli;

/// <summary>Formatting helpers shared by the progress and summary lines.</summary>
internal static class Units
{
    /// <summary>Formats a byte count with a binary unit, e.g. <c>4.2 MB</c>.</summary>
    public static string Bytes(double bytes)
    {
        string[] units = ["B", "KB", "MB", "GB", "TB"];
        var unit = 0;
        while (Math.Abs(bytes) >= 1024 && unit < units.Length - 1)
        {
            bytes /= 1024;
            unit++;
        }
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes:0} {units[unit]}")
            : string.Create(CultureInfo.InvariantCulture, $"{bytes:0.0} {units[unit]}");
    }

    /// <summary>Formats a number with one decimal, invariant culture.</summary>
    public static string One(double value) => value.ToString("0.0", CultureInfo.InvariantCulture);

    /// <summary>The tool's version (informational version without the source revision suffix).</summary>
    public static string ToolVersion { get; } = GetToolVersion();

    private static string GetToolVersion()
    {
        var assembly = typeof(Units).Assembly;
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (!string.IsNullOrEmpty(informational))
        {
            var plus = informational.IndexOf('+', StringComparison.Ordinal);
            return plus < 0 ? informational : informational[..plus];
        }
        return assembly.GetName().Version?.ToString(3) ?? "0.0.0";
    }
}
