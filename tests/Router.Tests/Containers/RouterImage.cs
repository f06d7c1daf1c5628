using System.Diagnostics;
using Router.Tests.Media;

namespace Router.Tests.Containers;

/// <summary>The Router image deploy/k8s names, built by <c>scripts/containers/build-images.sh</c> when it is missing or stale.</summary>
internal static class RouterImage
{
    /// <summary>
    /// Makes sure <paramref name="image"/> exists in podman's storage and was built from the repository's current
    /// files (<c>build-images.sh --if-stale</c>: seconds when it is up to date, minutes when it builds); returns a line
    /// with its size.
    /// </summary>
    public static async Task<string> EnsureAsync(string image, Action<string> log)
    {
        _ = Podman.Path; // without podman, fail here with its message
        var script = Path.Combine(TestMedia.RepoRoot(), "scripts", "containers", "build-images.sh");
        var info = new ProcessStartInfo(script, "--if-stale") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var build = Process.Start(info) ?? throw new InvalidOperationException($"cannot run {script}");
        var tail = new Queue<string>();
        void Keep(string? line)
        {
            if (line is null) return;
            lock (tail)
            {
                tail.Enqueue(line);
                if (tail.Count > 40) tail.Dequeue();
            }
            if (line.StartsWith("build-images:", StringComparison.Ordinal)) log(line);
        }
        build.OutputDataReceived += (_, e) => Keep(e.Data);
        build.ErrorDataReceived += (_, e) => Keep(e.Data);
        build.BeginOutputReadLine();
        build.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(30));
        try { await build.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            build.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} did not finish in 30 min");
        }
        if (build.ExitCode != 0)
            throw new InvalidOperationException($"{script} failed ({build.ExitCode}):\n{string.Join('\n', tail)}");
        var size = await Podman.CheckAsync(TimeSpan.FromSeconds(60), "image", "inspect", image, "--format", "{{.Size}}");
        return $"{image}: {long.Parse(size) / 1_000_000.0:F0} MB";
    }
}
