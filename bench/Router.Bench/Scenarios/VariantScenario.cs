using Router.Bench.Infra;
using Router.Bench.Report;

namespace Router.Bench.Scenarios;

/// <summary>
/// <c>--scenario variants</c>: the cost of one shared 320-px variant (<c>width=320</c>, issue 12) against the full-size
/// stream. One camera at 30 fps of the bench frames (768x576 vtest) to 1, 10 and 100 binary consumers on a fresh
/// Router standalone process per row, all consumers asking for the same variant (so the gateway encodes each frame
/// once for all of them) or for full size. Reports server CPU (cores, and ms per source frame), delivered fps and bytes,
/// and the variant encodes per source frame read from the server's <c>/metrics</c>.
/// </summary>
internal sealed class VariantScenario(BenchContext ctx, BenchResults results)
{
    public async Task RunAsync(CancellationToken ct)
    {
        var (reducedMs, fullDecodeMs) = EncodeCost();
        ctx.Log($"Variant encode of one {ctx.Frames.Width}x{ctx.Frames.Height} bench frame to width=320 q75, one thread: {reducedMs:0.00} ms CPU " +
                $"(decoded at 1/2 size as Router does; {fullDecodeMs:0.00} ms with a full-size decode)");
        results.Settings["variant_encode_cpu_ms"] = Math.Round(reducedMs, 3);
        results.Settings["variant_encode_full_decode_cpu_ms"] = Math.Round(fullDecodeMs, 3);
        var counts = ctx.Settings.ConsumerCounts ?? (ctx.Settings.Quick ? [1, 10] : [1, 10, 100]);
        ctx.Log($"Variants: 1 camera at 30 fps → {string.Join('/', counts)} binary consumers, full size against one shared width=320 variant");
        var table = new List<(FanoutRow Row, double EncodesPerFrame)>();
        foreach (var n in counts)
            foreach (var (name, query) in new[] { ("full", ""), ("w320", "&width=320") })
            {
                var spec = new FanoutSpec { Scenario = $"V-{name}", SourcePrefix = $"v-{name}-{n}", Format = "binary", ConsumersPerCamera = n, Fps = 30, ConsumerQuery = query };
                ctx.Log($"{spec.Scenario}: {n} consumer(s)");
                try
                {
                    await using var target = await Target.StartRouterAsync(ctx, ct);
                    double? encodesBefore = null, encodesAfter = null;
                    var row = await Measure.FanoutAsync(ctx, target, spec, ct,
                        duringWindow: async () => encodesBefore = await EncodesAsync(target, ct),
                        afterWindow: async () => encodesAfter = await EncodesAsync(target, ct));
                    var perFrame = encodesBefore is null || encodesAfter is null || row.DeviceFramesSent == 0
                        ? double.NaN
                        : Math.Round((encodesAfter.Value - encodesBefore.Value) / row.DeviceFramesSent, 3);
                    results.Variants.Add(row);
                    table.Add((row, perFrame));
                    ctx.Log($"  → server {row.ServerCpuCores} cores, fps med {row.FpsMedian}, {row.MBps} MB/s, p99 {row.LatencyP99Ms} ms, encodes/frame {perFrame}");
                    foreach (var note in row.Notes) ctx.Log($"    note: {note}");
                }
                catch (Exception e) when (e is TimeoutException or InvalidOperationException or FileNotFoundException or System.Net.WebSockets.WebSocketException or HttpRequestException)
                {
                    results.Notes.Add($"{spec.Scenario} {n}: failed: {e.Message}");
                    ctx.Log($"  failed: {e.Message}");
                }
            }
        ctx.Out.WriteLine();
        ctx.Out.WriteLine("Variants (1 camera, 30 fps, binary; V-full = full-size frames, V-w320 = one shared width=320 variant):");
        ctx.Out.Write(Tables.Fanout(table.Select(t => t.Row)));
        ctx.Out.WriteLine();
        ctx.Out.WriteLine("| variant | consumers | server cores | server CPU ms per source frame | variant encodes per source frame | fps median | MB/s delivered | p99 ms |");
        ctx.Out.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (r, perFrame) in table)
        {
            var msPerFrame = r.DeviceFramesSent > 0 ? r.ServerCpuSeconds * 1000 / r.DeviceFramesSent : double.NaN;
            ctx.Out.WriteLine($"| {r.Scenario[2..]} | {r.Consumers} | {r.ServerCpuCores:0.000} | {msPerFrame:0.00} | {(double.IsNaN(perFrame) ? "–" : perFrame.ToString("0.00"))} | {r.FpsMedian:0.0} | {r.MBps:0.00} | {r.LatencyP99Ms:0.0} |");
        }
    }

    /// <summary>
    /// CPU ms per frame of the variant encode Router does (src/Router.Actors/Media/FrameVariants.cs: decode at 1/2 size,
    /// INTER_AREA resize to 320 wide, JPEG q75), and of the same with a full-size decode, over the bench frames on this
    /// thread (thread CPU time, so other processes on the machine do not count).
    /// </summary>
    private (double ReducedMs, double FullDecodeMs) EncodeCost()
    {
        double Run(OpenCvSharp.ImreadModes mode)
        {
            var frames = ctx.Frames.Frames;
            var width = 320;
            var height = (int)Math.Round(ctx.Frames.Height * 320.0 / ctx.Frames.Width);
            var quality = new OpenCvSharp.ImageEncodingParam(OpenCvSharp.ImwriteFlags.JpegQuality, 75);
            void Once(byte[] jpeg)
            {
                using var decoded = OpenCvSharp.Cv2.ImDecode(jpeg, mode);
                using var resized = new OpenCvSharp.Mat();
                OpenCvSharp.Cv2.Resize(decoded, resized, new OpenCvSharp.Size(width, height), 0, 0, OpenCvSharp.InterpolationFlags.Area);
                OpenCvSharp.Cv2.ImEncode(".jpg", resized, out _, quality);
            }
            foreach (var f in frames.Take(10)) Once(f); // warm-up
            var before = ThreadCpu.Now();
            const int rounds = 3;
            for (var i = 0; i < rounds; i++) foreach (var f in frames) Once(f);
            return (ThreadCpu.Now() - before).TotalMilliseconds / (rounds * frames.Count);
        }
        var previous = OpenCvSharp.Cv2.GetNumThreads();
        OpenCvSharp.Cv2.SetNumThreads(1); // one thread, so thread CPU time is the whole cost
        try
        {
            return (Run(OpenCvSharp.ImreadModes.ReducedColor2), Run(OpenCvSharp.ImreadModes.Color));
        }
        finally
        {
            OpenCvSharp.Cv2.SetNumThreads(previous);
        }
    }

    /// <summary>CPU time of the calling thread (clock_gettime CLOCK_THREAD_CPUTIME_ID).</summary>
    private static class ThreadCpu
    {
        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
        private static extern int ClockGetTime(int clock, out TimeSpec spec);

        private struct TimeSpec
        {
            public long Seconds;
            public long Nanoseconds;
        }

        public static TimeSpan Now()
        {
            if (ClockGetTime(3, out var t) != 0) throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
            return TimeSpan.FromTicks(t.Seconds * TimeSpan.TicksPerSecond + t.Nanoseconds / 100);
        }
    }

    /// <summary>The sum of <c>router.variant.encodes</c> in the server's Prometheus text, or null when unreadable.</summary>
    private static async Task<double?> EncodesAsync(Target target, CancellationToken ct)
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var text = await http.GetStringAsync(new Uri(target.HttpBase, "/metrics"), ct);
            return PrometheusSamples.Sum(text, "router_router_variant_encodes");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or FormatException)
        {
            return null;
        }
    }
}
