using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Router.Actors.Media;

/// <summary>
/// One <c>ffmpeg</c> child process reading a network source and writing its video as a stream of JPEGs (MJPEG) to
/// its standard output: <c>-c:v copy</c> when the source is MJPEG already (nothing transcoded), else
/// <c>-c:v mjpeg -q:v N</c>.
/// </summary>
/// <remarks>
/// The process, with any children of its own, is killed by <see cref="Kill"/> and <see cref="Dispose"/>, and every
/// live one is killed when this process exits (<see cref="AppDomain.ProcessExit"/>). Should this process die without
/// running that (SIGKILL), ffmpeg's next write to the closed pipe fails and it exits by itself. Standard error is drained
/// continuously (so ffmpeg never blocks on it); its last lines are kept, with the source URL redacted, for logs.
/// </remarks>
internal sealed class FfmpegChild : IDisposable
{
    /// <summary>The executable started: <c>ffmpeg</c> found on <c>PATH</c> (Debian's package has every network protocol).</summary>
    public const string Executable = "ffmpeg";

    private const int KeptErrorLines = 4;
    private const int MaxErrorLineChars = 300;
    private static readonly ConcurrentDictionary<int, FfmpegChild> Live = new();
    private readonly Process _process;
    private readonly Queue<string> _errors = new();
    private readonly string _rawUrl;
    private readonly string _redactedUrl;
    private int _disposed;

    static FfmpegChild() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var child in Live.Values) child.Kill();
    };

    private FfmpegChild(Process process, string rawUrl, string redactedUrl)
    {
        _process = process;
        _rawUrl = rawUrl;
        _redactedUrl = redactedUrl;
    }

    /// <summary>The child's process id.</summary>
    public int Id { get; private set; }

    /// <summary>The child's standard output: the JPEG stream. Ends when the child exits or is killed.</summary>
    public Stream Output => _process.StandardOutput.BaseStream;

    /// <summary>The process ids of all live children of this process (for tests and diagnostics).</summary>
    public static IReadOnlyCollection<int> LiveIds => [.. Live.Keys];

    /// <summary>The last lines ffmpeg wrote to standard error (URL redacted), joined with " | "; empty when none.</summary>
    public string LastErrors
    {
        get
        {
            lock (_errors) return string.Join(" | ", _errors);
        }
    }

    /// <summary>Starts ffmpeg reading <paramref name="url"/>.</summary>
    /// <param name="url">An <c>rtsp://</c>, <c>http://</c> or <c>https://</c> URL.</param>
    /// <param name="redactedUrl">The URL as it may be logged (without credentials).</param>
    /// <param name="copy">True: pass the source's MJPEG through (<c>-c:v copy</c>); false: encode MJPEG at <paramref name="qscale"/>.</param>
    /// <param name="qscale">ffmpeg's MJPEG quantiser scale, 2 (best) – 31, used when not copying.</param>
    /// <exception cref="System.ComponentModel.Win32Exception">ffmpeg is not installed (not on PATH).</exception>
    public static FfmpegChild Start(string url, string redactedUrl, bool copy, int qscale)
    {
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (var arg in Arguments(url, copy, qscale)) info.ArgumentList.Add(arg);
        var process = new Process { StartInfo = info };
        var child = new FfmpegChild(process, url, redactedUrl);
        process.ErrorDataReceived += (_, e) => child.KeepError(e.Data);
        process.Start();
        child.Id = process.Id;
        Live[child.Id] = child;
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>The command line after <c>ffmpeg</c>.</summary>
    public static IReadOnlyList<string> Arguments(string url, bool copy, int qscale)
    {
        List<string> args = ["-hide_banner", "-nostdin", "-loglevel", "error"];
        if (url.StartsWith("rtsp", StringComparison.OrdinalIgnoreCase)) args.AddRange(["-rtsp_transport", "tcp"]);
        args.AddRange(["-i", url, "-map", "0:v:0", "-an", "-sn", "-dn", "-vsync", "passthrough"]);
        if (copy) args.AddRange(["-c:v", "copy"]);
        else args.AddRange(["-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-q:v", qscale.ToString(CultureInfo.InvariantCulture)]);
        args.AddRange(["-f", "mjpeg", "pipe:1"]);
        return args;
    }

    /// <summary>Kills the child and its process tree; never throws (it may have exited already).</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (Exception)
        {
            // Exited already, or never started.
        }
    }

    /// <summary>Kills the child, waits (at most 2 s) for it to be reaped and releases it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Kill();
        try
        {
            _process.WaitForExit(2_000);
        }
        catch (Exception)
        {
            // Not started.
        }
        Live.TryRemove(Id, out _);
        _process.Dispose();
    }

    private void KeepError(string? line)
    {
        if (string.IsNullOrWhiteSpace(line)) return;
        line = line.Replace(_rawUrl, _redactedUrl, StringComparison.Ordinal);
        if (line.Length > MaxErrorLineChars) line = line[..MaxErrorLineChars];
        lock (_errors)
        {
            if (_errors.Count == KeptErrorLines) _errors.Dequeue();
            _errors.Enqueue(line);
        }
    }
}
