using System.Diagnostics;
using OpenCvSharp;
using Router.Tests.Media;

namespace Router.Tests.Hostile;

/// <summary>Real hostile JPEGs: decompression bombs and frames padded into the re-encode range.</summary>
internal static class Bombs
{
    /// <summary>
    /// A real JPEG (a 64×64 crop of baboon.jpg, encoded by OpenCV) whose SOF header is patched to claim
    /// <paramref name="width"/>×<paramref name="height"/>, padded with COM segments after SOI to exactly
    /// <paramref name="totalBytes"/>. A decoder that trusts the header allocates width×height×3 bytes: 32768×32767 is
    /// 3.2 GB, just under OpenCV's own 2^30-pixel cap, the attack of issue 8.
    /// </summary>
    public static byte[] Bomb(int width, int height, int totalBytes)
    {
        using var baboon = Cv2.ImRead(TestMedia.SharedMediaPath("baboon.jpg"));
        using var crop = new Mat(baboon, new Rect(0, 0, 64, 64));
        var jpeg = TestMedia.EncodeJpeg(crop, 90);
        var sof = TestMedia.FindSegment(jpeg, 0xC0);
        jpeg[sof + 5] = (byte)(height >> 8);
        jpeg[sof + 6] = (byte)height;
        jpeg[sof + 7] = (byte)(width >> 8);
        jpeg[sof + 8] = (byte)width;
        return PadWithComments(jpeg, totalBytes);
    }

    /// <summary>A real, fully decodable flat-colour JPEG of <paramref name="width"/>×<paramref name="height"/>, padded to <paramref name="totalBytes"/>.</summary>
    public static byte[] PaddedRealFrame(int width, int height, int totalBytes)
    {
        using var image = new Mat(height, width, MatType.CV_8UC3, new Scalar(40, 120, 200));
        Cv2.PutText(image, "Router", new Point(width / 10, height / 2), HersheyFonts.HersheySimplex, width / 400.0, Scalar.White, Math.Max(1, width / 300));
        return PadWithComments(TestMedia.EncodeJpeg(image, 80), totalBytes);
    }

    /// <summary>Inserts COM (<c>FF FE</c>) segments right after SOI until the JPEG is exactly <paramref name="totalBytes"/> long.</summary>
    public static byte[] PadWithComments(byte[] jpeg, int totalBytes)
    {
        var missing = totalBytes - jpeg.Length;
        if (missing < 0) throw new ArgumentException($"the JPEG is already {jpeg.Length} bytes, over {totalBytes}");
        var padding = new List<byte>(missing);
        while (missing > 0)
        {
            // A segment is 4 bytes of marker and length plus 0–65533 bytes of text; never leave 1–3 bytes over.
            var segment = Math.Min(missing, 65_535 + 2);
            if (missing - segment is > 0 and < 4) segment -= 4;
            var text = segment - 4;
            padding.AddRange([0xFF, 0xFE, (byte)((text + 2) >> 8), (byte)(text + 2)]);
            padding.AddRange(Enumerable.Repeat((byte)'x', text));
            missing -= segment;
        }
        return [.. jpeg.AsSpan(0, 2), .. padding, .. jpeg.AsSpan(2)];
    }
}

/// <summary>Samples this process's working set every 20 ms while alive; <see cref="PeakDelta"/> is the growth over the start.</summary>
internal sealed class WorkingSetPeak : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private long _peak;

    public WorkingSetPeak()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Baseline = Current();
        _peak = Baseline;
        _sampling = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                var now = Current();
                if (now > Interlocked.Read(ref _peak)) Interlocked.Exchange(ref _peak, now);
                try { await Task.Delay(20, _stop.Token); } catch (OperationCanceledException) { }
            }
        });
    }

    public long Baseline { get; }

    /// <summary>Peak working set minus the baseline, in bytes.</summary>
    public long PeakDelta => Interlocked.Read(ref _peak) - Baseline;

    private static long Current()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        _stop.Dispose();
    }
}
