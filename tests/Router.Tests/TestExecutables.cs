using System.Diagnostics;

namespace Router.Tests;

/// <summary>Start infos for Router's executables copied next to the test assembly.</summary>
internal static class TestExecutables
{
    /// <summary>
    /// <c>dotnet &lt;dll&gt;</c> with output redirected, run in the test directory, and no inherited <c>Router__*</c>
    /// environment variables (so only what the test sets configures it).
    /// </summary>
    public static ProcessStartInfo StartInfo(string dll)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("Router__", StringComparison.OrdinalIgnoreCase)).ToList())
            info.Environment.Remove(key);
        return info;
    }
}
