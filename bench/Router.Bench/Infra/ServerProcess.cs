using System.Collections.Concurrent;
using System.Diagnostics;

namespace Router.Bench.Infra;

/// <summary>
/// A server under test running as a child process (Router or the floor). Output goes to a log file; the process (and
/// its children) is killed on <see cref="DisposeAsync"/>, and every live one is killed when the bench exits, also on
/// Ctrl-C or an exception (<see cref="KillAll"/>).
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<int, ServerProcess> Live = new();
    private readonly Process _process;
    private readonly StreamWriter _log;

    private ServerProcess(string name, Process process, StreamWriter log, string logPath)
    {
        Name = name;
        _process = process;
        _log = log;
        LogPath = logPath;
    }

    public string Name { get; }

    public string LogPath { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="args"/>; stdout and stderr go to a log file in <paramref name="logDir"/>.</summary>
    public static ServerProcess Start(string name, string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string> env,
        string workingDirectory, string logDir)
    {
        Directory.CreateDirectory(logDir);
        var logPath = Path.Combine(logDir, $"{name}-{DateTime.UtcNow:HHmmss}-{Guid.NewGuid().ToString()[..4]}.log");
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var log = new StreamWriter(logPath) { AutoFlush = true };
        log.WriteLine($"$ {fileName} {string.Join(' ', psi.ArgumentList)}");
        var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(name, process, log, logPath);
        Live[process.Id] = server;
        return server;
    }

    /// <summary>Polls <paramref name="url"/> until it answers 200.</summary>
    /// <exception cref="TimeoutException">Not ready within <paramref name="timeout"/>, or the process exited.</exception>
    public async Task WaitReadyAsync(string url, TimeSpan timeout, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var sw = Stopwatch.StartNew();
        string last = "no answer";
        while (sw.Elapsed < timeout)
        {
            ct.ThrowIfCancellationRequested();
            if (_process.HasExited) throw new TimeoutException($"{Name} exited with code {_process.ExitCode} (log: {LogPath})");
            try
            {
                using var r = await http.GetAsync(url, ct);
                if ((int)r.StatusCode == 200) return;
                last = $"HTTP {(int)r.StatusCode}";
            }
            catch (HttpRequestException e) { last = e.Message; }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { last = "timeout"; }
            await Task.Delay(200, ct);
        }
        throw new TimeoutException($"{Name} not ready at {url} after {timeout.TotalSeconds:0} s ({last}; log: {LogPath})");
    }

    public ProcSample Sample() => ProcSample.Read(Pid);

    public bool ResetPeak() => ProcSample.ResetPeak(Pid);

    public string AllowedCpus => MachineInfo.AllowedCpus(Pid);

    /// <summary>The last lines of the log (for error messages).</summary>
    public string LogTail(int lines = 15)
    {
        try
        {
            lock (_log) _log.Flush();
            using var fs = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var sr = new StreamReader(fs);
            var all = sr.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException) { return string.Empty; }
    }

    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        try { await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)); }
        catch (TimeoutException) { }
        Live.TryRemove(_process.Id, out _);
        lock (_log) _log.Dispose();
        _process.Dispose();
    }

    /// <summary>Kills every server process still running (exit, Ctrl-C, crash).</summary>
    public static void KillAll()
    {
        foreach (var s in Live.Values) s.Kill();
    }
}
