using System.Diagnostics;

namespace Router.Bench.Media;

/// <summary>
/// The frames of the peer scenario, made exactly as <c>../shared/peers/go2rtc/README.md</c> says: the clip re-muxed as
/// MJPEG at 30 fps (<c>-q:v 5</c>, 768x576, ~56.5 KB per frame) and its frames extracted with <c>-c copy</c>, so they are
/// byte-identical to what go2rtc sends for that clip. Cached in a temporary directory.
/// </summary>
internal static class PeerMedia
{
    /// <exception cref="IOException">ffmpeg failed or is missing.</exception>
    public static FrameSet Load(string videoPath)
    {
        var dir = Path.Combine(Path.GetTempPath(), "router-bench-peer-media", Path.GetFileNameWithoutExtension(videoPath) + "-" + new FileInfo(videoPath).Length);
        var frames = Path.Combine(dir, "frames");
        if (!Directory.Exists(frames) || Directory.GetFiles(frames, "*.jpg").Length == 0)
        {
            Directory.CreateDirectory(frames);
            var clip = Path.Combine(dir, "vtest30.mkv");
            Ffmpeg("-v", "error", "-y", "-r", "30", "-i", videoPath, "-an", "-c:v", "mjpeg", "-q:v", "5", "-pix_fmt", "yuvj420p", clip);
            Ffmpeg("-v", "error", "-y", "-i", clip, "-c", "copy", "-f", "image2", Path.Combine(frames, "f%04d.jpg"));
        }
        return FrameSet.LoadFiles(frames);
    }

    private static void Ffmpeg(params string[] args)
    {
        var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new IOException($"ffmpeg {string.Join(' ', args)} failed: {err}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new IOException("ffmpeg is needed for the peer scenario: " + e.Message, e);
        }
    }
}
