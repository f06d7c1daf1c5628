using System.Diagnostics;
using Router.Tests.Media;

namespace Router.Tests.Containers;

/// <summary>The Router image deploy/k8s names, built by <c>scripts/containers/build-images.sh</c> when it is missing.</summary>
internal static class RouterImage
{
    /// <summary>Makes sure <paramref name="image"/> exists in podman's storage (building it, up to 30 min); returns a line with its size.</summary>
    public static async Task<string> EnsureAsync(string image, Action<string> log)
    {
        var (exists, _, existsError) = await Podman.RunAsync(TimeSpan.FromSeconds(60), ["image", "exists", image]);
        if (exists is not (0 or 1)) throw new InvalidOperationException($"`podman image exists {image}` failed ({exists}): {existsError}");
        if (exists == 1)
        {
            log($"{image} is missing: building it with scripts/containers/build-images.sh (several minutes)");
            var script = Path.Combine(TestMedia.RepoRoot(), "scripts", "containers", "build-images.sh");
            var info = new ProcessStartInfo(script, "--if-missing") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
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
        }
        var size = await Podman.CheckAsync(TimeSpan.FromSeconds(60), "image", "inspect", image, "--format", "{{.Size}}");
        return $"{image}: {long.Parse(size) / 1_000_000.0:F0} MB";
    }
}
