using System.Diagnostics;

namespace Router.Bench.Scenarios;

/// <summary>
/// Optional profiling of a server during one measurement window: <c>perf record</c> (CPU samples with call graphs; the
/// server runs with DOTNET_PerfMapEnabled=1 so JIT frames resolve) or <c>dotnet-trace</c> (sampled thread time).
/// The tool runs for the window and exits by itself; its output is next to the file given.
/// </summary>
internal static class Profiler
{
    public static Task StartAsync(BenchContext ctx, int pid, string kind, string file, TimeSpan window, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        ProcessStartInfo psi;
        if (kind == "perf")
        {
            psi = new ProcessStartInfo("perf") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { "record", "-F", "499", "-g", "-p", pid.ToString(), "-o", file, "--", "sleep", window.TotalSeconds.ToString("0") })
                psi.ArgumentList.Add(a);
        }
        else
        {
            var tool = FindDotnetTrace();
            psi = new ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { "collect", "-p", pid.ToString(), "--profile", "dotnet-sampled-thread-time", "-o", file, "--duration", window.ToString(@"dd\:hh\:mm\:ss") })
                psi.ArgumentList.Add(a);
        }
        try
        {
            var p = Process.Start(psi)!;
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            ctx.Log($"  profiling pid {pid} with {kind} into {file}");
            // Let the window run; the tool stops on its own. Reap it in the background.
            _ = p.WaitForExitAsync(CancellationToken.None).ContinueWith(_ => p.Dispose(), TaskScheduler.Default);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            ctx.Log($"  profiler {kind} not started: {e.Message}");
        }
        return Task.CompletedTask;
    }

    private static string FindDotnetTrace()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var local = Path.Combine(home, ".dotnet/tools/dotnet-trace");
        return File.Exists(local) ? local : "dotnet-trace";
    }
}
