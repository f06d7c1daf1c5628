using System.Diagnostics;
using System.Text;

namespace Router.Tests.Containers;

/// <summary>
/// Runs the <c>podman</c> CLI (the <c>PODMAN</c> environment variable, else <c>podman</c> on PATH). Every call has a
/// deadline; a failure throws with podman's own message.
/// </summary>
internal static class Podman
{
    public static string Path => Environment.GetEnvironmentVariable("PODMAN") is { Length: > 0 } p
        ? File.Exists(p) ? p : throw new Xunit.Sdk.XunitException($"PODMAN={p} does not exist")
        : Router.Tests.Deploy.Kubectl.Which("podman") ?? throw new Xunit.Sdk.XunitException(
            "podman was not found on PATH: the container tests (Category=Containers) run deploy/k8s's cluster in podman " +
            "containers. Install and configure it with `scripts/containers/setup.sh` (Debian 12, as root), or leave these " +
            "tests out with --filter \"Category!=Containers\".");

    /// <summary>Runs podman; returns its exit code, standard output and standard error.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(TimeSpan timeout, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new Xunit.Sdk.XunitException("cannot start podman");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`podman {Describe(info.ArgumentList)}` did not finish in {timeout.TotalSeconds} s");
        }
        return (process.ExitCode, (await output).Trim(), (await error).Trim());
    }

    /// <summary>Runs podman and returns its standard output; a non-zero exit throws with its standard error.</summary>
    public static async Task<string> CheckAsync(TimeSpan timeout, params string[] args)
    {
        var (code, output, error) = await RunAsync(timeout, args);
        if (code != 0) throw new InvalidOperationException($"`podman {Describe(args)}` failed ({code}): {error}");
        return output;
    }

    /// <summary>A command line for messages, with environment values elided (they may hold key hashes).</summary>
    private static string Describe(IEnumerable<string> args)
    {
        var text = new StringBuilder();
        var hideNext = false;
        foreach (var a in args)
        {
            text.Append(' ').Append(hideNext ? a.Split('=')[0] + "=…" : a);
            hideNext = a is "-e" or "--env";
        }
        return text.ToString().TrimStart();
    }
}
