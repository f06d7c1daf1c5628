using System.Collections.Concurrent;
using System.Diagnostics;

namespace Router.Tests.Cluster;

/// <summary>A Router executable (Router.Node in any role, the router CLI) started as a real OS process by a test.</summary>
public sealed class RouterProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<(long AtMs, string Line)> _output = new();

    /// <summary>One clock for every process a test starts: the time, in ms, each output line was read.</summary>
    public static readonly Stopwatch Clock = Stopwatch.StartNew();

    private RouterProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public int Pid { get; private set; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public IEnumerable<string> Output => _output.Select(o => o.Line);

    /// <summary>Output lines with the <see cref="Clock"/> time (ms) at which they were read.</summary>
    public IEnumerable<(long AtMs, string Line)> TimedOutput => _output;

    /// <summary>Starts <c>dotnet &lt;dll&gt; args</c>; the dll is looked up next to the test assembly.</summary>
    public static RouterProcess Start(string name, string dll, IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) info.Environment[k] = v;
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var rp = new RouterProcess(name, process);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) rp._output.Enqueue((Clock.ElapsedMilliseconds, e.Data)); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) rp._output.Enqueue((Clock.ElapsedMilliseconds, e.Data)); };
        process.Start();
        rp.Pid = process.Id;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return rp;
    }

    /// <summary>Sends a POSIX signal (TERM, KILL, STOP, CONT) with kill(1).</summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{signal} {Pid}") { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public int CountOutput(string fragment) => _output.Count(o => o.Line.Contains(fragment, StringComparison.Ordinal));

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                Signal("CONT");
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        // ROUTER_TEST_LOGS=<dir> keeps each process's output, each line prefixed with its Clock time in ms.
        if (Environment.GetEnvironmentVariable("ROUTER_TEST_LOGS") is { Length: > 0 } dir)
        {
            Directory.CreateDirectory(dir);
            File.WriteAllLines(Path.Combine(dir, $"{Name}-{Pid}.log"), _output.Select(o => $"{o.AtMs,8} {o.Line}"));
        }
    }
}
