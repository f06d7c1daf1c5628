using System.Diagnostics;
using Router.Tests.Support;

namespace Router.Tests.Media;

/// <summary>
/// Real stream servers on 127.0.0.1 for the network pull-source tests: Debian's ffmpeg serving HTTP multipart MJPEG,
/// and GStreamer's RTSP server (tests/tools/rtsp_test_server.py) serving H.264 and MJPEG. Both are installed by
/// scripts/setup.sh --with-browser.
/// </summary>
internal sealed class TestStreamServer : IDisposable
{
    private readonly Process _process;

    private TestStreamServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>The TCP port the server listens on.</summary>
    public int Port { get; }

    /// <summary>
    /// <c>ffmpeg -re -stream_loop -1 -i lobby.avi -f mpjpeg -listen 1 http://127.0.0.1:PORT/cam.mjpg</c>: one client,
    /// 768x576 MJPEG at 10 fps. Returns once the port accepts connections.
    /// </summary>
    public static TestStreamServer HttpMjpeg(int? port = null)
    {
        var p = port ?? TestPorts.Next();
        var server = Start("ffmpeg", p, "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1",
            "-i", TestMedia.LobbyClipPath(), "-an", "-c:v", "mjpeg", "-q:v", "5", "-f", "mpjpeg", "-listen", "1",
            $"http://127.0.0.1:{p}/cam.mjpg");
        // ffmpeg -listen serves exactly one client, so readiness is not probed by connecting: wait until the port is bound.
        server.WaitUntil(() => IsListening(p), "ffmpeg did not listen");
        return server;
    }

    /// <summary><c>rtsp_test_server.py PORT</c>: rtsp://127.0.0.1:PORT/h264 and /mjpeg, 320x240 at 15 fps. Returns once it prints "ready".</summary>
    public static TestStreamServer Rtsp(int? port = null)
    {
        var p = port ?? TestPorts.Next();
        var script = Path.Combine(TestMedia.RepoRoot(), "tests", "tools", "rtsp_test_server.py");
        var server = Start("/usr/bin/python3", p, script, p.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var ready = server._process.StandardOutput.ReadLineAsync();
        if (!ready.Wait(TimeSpan.FromSeconds(15)) || ready.Result != "ready")
        {
            server.Dispose();
            throw new InvalidOperationException($"the RTSP test server did not start: {server.Errors()}");
        }
        return server;
    }

    /// <summary>Kills the server (and anything it started) and waits for it to exit.</summary>
    public void Dispose()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5_000);
        }
        catch (InvalidOperationException)
        {
            // Exited already.
        }
        _process.Dispose();
    }

    private static TestStreamServer Start(string executable, int port, params string[] args)
    {
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        return new TestStreamServer(Process.Start(info)!, port);
    }

    private string Errors() => _process.HasExited ? _process.StandardError.ReadToEnd() : "(still running)";

    private void WaitUntil(Func<bool> condition, string failure)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (_process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(15))
            {
                var errors = Errors();
                Dispose();
                throw new InvalidOperationException($"{failure}: {errors}");
            }
            Thread.Sleep(20); // polling interval, bounded by the deadline above
        }
    }

    /// <summary>Whether a socket listens on 127.0.0.1:<paramref name="port"/>, read from /proc/net/tcp (no connection made).</summary>
    private static bool IsListening(int port)
    {
        var local = $"0100007F:{port:X4}";
        return File.ReadLines("/proc/net/tcp").Skip(1)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Any(f => f.Length > 3 && f[1] == local && f[3] == "0A");
    }
}
