using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Router.Bench.Infra;
using Router.Protocol;

namespace Router.Bench.Scenarios;

/// <summary>One row of the raw encode-cost table: one client pushing one camera over HTTP, one request at a time.</summary>
internal sealed record RawCostRow(string Body, int Width, int Height, int BodyBytes, double Fps, double RequestMs, double EncodeMs, double CpuSecondsPerFrame, double JpegBytes);

/// <summary>One row of the raw ingest-rate table: devices each sending one camera at a fixed rate over the device WebSocket.</summary>
internal sealed record RawRateRow(string Format, int Devices, double OfferedFps, double SentFps, double EncodedFps, double IngestedFps, double DroppedFps, double ServerCores, double EncodeMs, long Errors);

/// <summary>
/// <c>--scenario raw</c> (issue 12, "Measure"): a standalone Router (default settings: <c>EncodeConcurrency</c> = half
/// the cores). (1) Encode cost per raw frame at 640×480 and 1280×720, I420 and RGBA: one HTTP client posts real video
/// frames to one camera, one request at a time; per frame the server's encode time (<c>router_router_raw_encode_duration</c>
/// from <c>/metrics</c>), the request's round trip and the server's CPU-seconds (from /proc), against the same pictures
/// pushed as JPEG. (2) The raw 720p ingest rate one gateway sustains: 1, 2, 4 (and 8) devices at 30 fps each, one
/// camera each; frames encoded, taken by the cameras and dropped (newest wins) per second, and the server's cores.
/// </summary>
internal sealed class RawScenario(BenchContext ctx)
{
    private const double DeviceFps = 30;

    /// <summary>
    /// The scenario for <paramref name="settings"/>, its JSON written to <paramref name="outJson"/>. Router runs with
    /// the per-key HTTP ingest limits raised (raw bodies are large: 64 MB/s would be the bound, not the encoder).
    /// </summary>
    public static RawScenario Create(BenchSettings settings, string outJson) => new(new BenchContext(settings with
    {
        OutJson = outJson,
        RouterEnv = [.. settings.RouterEnv, "Router__Gateway__Limits__IngestBytesPerSecondPerKey=2000000000", "Router__Gateway__Limits__IngestRequestsPerSecondPerKey=100000"],
    }, Media.FrameSet.Load(settings.MediaPath, 1, 85), Console.Out));

    public async Task<int> RunAsync(CancellationToken ct)
    {
        var o = ctx.Out;
        var window = ctx.Window;
        o.WriteLine($"Raw frames: Router standalone at default settings; window {window.TotalSeconds:0} s after {ctx.Warmup.TotalSeconds:0} s warm-up per row; frames from {ctx.Settings.MediaPath} resized.");
        await using var router = await Target.StartRouterAsync(ctx, ct);
        using var http = new HttpClient { BaseAddress = router.HttpBase, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ctx.ApiKey);

        var costs = new List<RawCostRow>();
        foreach (var (w, h) in new[] { (640, 480), (1280, 720) })
        {
            RawPictures? pictures = null;
            foreach (var format in new[] { RawPixelFormat.I420, RawPixelFormat.Rgba })
            {
                pictures = RawPictures.Load(ctx.Settings.MediaPath, 30, w, h, format);
                var row = await MeasureCostAsync(router, http, pictures, RawPixelFormats.Name(format)!, ct);
                costs.Add(row);
                ctx.Log($"cost {row.Body} {w}x{h}: encode {row.EncodeMs:0.00} ms, request {row.RequestMs:0.00} ms, {row.CpuSecondsPerFrame * 1000:0.00} CPU-ms/frame, {row.Fps:0.0} fps");
            }
            var jpeg = await MeasureCostAsync(router, http, pictures!, "jpeg", ct);
            costs.Add(jpeg);
            ctx.Log($"cost jpeg {w}x{h}: request {jpeg.RequestMs:0.00} ms, {jpeg.CpuSecondsPerFrame * 1000:0.00} CPU-ms/frame, {jpeg.Fps:0.0} fps");
        }

        var rates = new List<RawRateRow>();
        var deviceCounts = ctx.Settings.Quick ? new[] { 1, 4 } : [1, 2, 4, 8];
        foreach (var format in new[] { RawPixelFormat.I420, RawPixelFormat.Rgba })
        {
            var pictures = RawPictures.Load(ctx.Settings.MediaPath, 30, 1280, 720, format);
            foreach (var devices in deviceCounts)
            {
                var row = await MeasureRateAsync(router, pictures, devices, ct);
                rates.Add(row);
                ctx.Log($"rate {row.Format} 720p, {devices} devices: sent {row.SentFps:0.0} fps, encoded {row.EncodedFps:0.0}, ingested {row.IngestedFps:0.0}, dropped {row.DroppedFps:0.0}, server {row.ServerCores:0.00} cores");
            }
        }

        PrintTables(costs, rates);
        var outJson = ctx.Settings.OutJson;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outJson))!);
        await File.WriteAllTextAsync(outJson, JsonSerializer.Serialize(new
        {
            started_utc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            cores = MachineInfo.Cores,
            cpu_model = MachineInfo.CpuModel,
            window_seconds = window.TotalSeconds,
            costs,
            rates,
        }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }), CancellationToken.None);
        o.WriteLine($"results: {outJson}");
        return 0;
    }

    /// <summary>Posts frames one at a time for the warm-up, then for the window, and reads the server's counters around the window.</summary>
    private async Task<RawCostRow> MeasureCostAsync(Target router, HttpClient http, RawPictures pictures, string body, CancellationToken ct)
    {
        var layout = pictures.Layout;
        var raw = body != "jpeg";
        var camera = $"cost-{body}-{layout.Width}x{layout.Height}";
        var query = raw
            ? $"/v1/sources/bench-raw/video/frames?camera_id={camera}&format={body}&width={layout.Width}&height={layout.Height}"
            : $"/v1/sources/bench-raw/video/frames?camera_id={camera}";
        var frames = raw ? pictures.Pixels : pictures.Jpegs;
        long index = 0, bytes = 0;
        async Task<int> RunAsync(TimeSpan duration)
        {
            var count = 0;
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed < duration)
            {
                var frame = frames[(int)(index++ % frames.Count)];
                using var content = new ByteArrayContent(frame);
                content.Headers.ContentType = new MediaTypeHeaderValue(raw ? "application/octet-stream" : "image/jpeg");
                using var response = await http.PostAsync(query, content, ct);
                var text = await response.Content.ReadAsStringAsync(ct);
                if ((int)response.StatusCode != 202) throw new InvalidOperationException($"{body} push answered {(int)response.StatusCode}: {text}");
                bytes += JsonDocument.Parse(text).RootElement.GetProperty("bytes").GetInt64();
                count++;
            }
            return count;
        }
        await RunAsync(ctx.Warmup);
        var metricsBefore = await MetricsAsync(router, ct);
        var before = router.Front.Sample();
        bytes = 0;
        var clock = Stopwatch.StartNew();
        var n = await RunAsync(ctx.Window);
        var elapsed = clock.Elapsed.TotalSeconds;
        var after = router.Front.Sample();
        var metricsAfter = await MetricsAsync(router, ct);
        var encodeMs = raw ? EncodeMs(metricsBefore, metricsAfter, body) : double.NaN;
        return new RawCostRow(body, layout.Width, layout.Height, frames[0].Length, n / elapsed, elapsed * 1000 / n, encodeMs,
            (after.CpuSeconds - before.CpuSeconds) / n, (double)bytes / n);
    }

    private async Task<RawRateRow> MeasureRateAsync(Target router, RawPictures pictures, int count, CancellationToken ct)
    {
        var format = RawPixelFormats.Name(pictures.Layout.Format)!;
        var devices = Enumerable.Range(0, count).Select(i => new RawDevice($"bench-raw-{format}-{count}-{i}", "front", pictures, DeviceFps)).ToList();
        try
        {
            foreach (var d in devices) await d.ConnectAsync(router.WsBase, ctx.ApiKey, ct);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var running = devices.Select(d => Task.Run(() => d.RunAsync(stop.Token), ct)).ToList();
            await Task.Delay(ctx.Warmup, ct);
            var sentBefore = devices.Sum(d => d.Sent);
            var metricsBefore = await MetricsAsync(router, ct);
            var before = router.Front.Sample();
            var clock = Stopwatch.StartNew();
            await Task.Delay(ctx.Window, ct);
            var elapsed = clock.Elapsed.TotalSeconds;
            var after = router.Front.Sample();
            var metricsAfter = await MetricsAsync(router, ct);
            var sent = devices.Sum(d => d.Sent) - sentBefore;
            await stop.CancelAsync();
            await Task.WhenAll(running);
            double Delta(string metric) => PrometheusSamples.Sum(metricsAfter, metric) - PrometheusSamples.Sum(metricsBefore, metric);
            return new RawRateRow(format, count, count * DeviceFps, sent / elapsed, Delta("router_router_raw_encoded") / elapsed,
                Delta("router_router_ingest_frames") / elapsed,
                (Delta("router_router_raw_dropped") + Delta("router_router_device_frames_dropped")) / elapsed,
                (after.CpuSeconds - before.CpuSeconds) / elapsed, EncodeMs(metricsBefore, metricsAfter, format), devices.Sum(d => d.Errors));
        }
        finally
        {
            foreach (var d in devices) await d.DisposeAsync();
        }
    }

    /// <summary>Mean encode time (ms) of <paramref name="format"/> between two scrapes of <c>/metrics</c>.</summary>
    private static double EncodeMs(string before, string after, string format)
    {
        double Sum(string text, string suffix) => Sample(text, $"router_router_raw_encode_duration_{suffix}{{format=\"{format}\"}}");
        var count = Sum(after, "count") - Sum(before, "count");
        return count > 0 ? (Sum(after, "sum") - Sum(before, "sum")) / count : double.NaN;
    }

    /// <summary>The value of the sample line starting with <paramref name="prefix"/> (name and labels), 0 when absent.</summary>
    private static double Sample(string text, string prefix)
    {
        foreach (var line in text.Split('\n'))
            if (line.StartsWith(prefix, StringComparison.Ordinal))
                return double.Parse(line[prefix.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return 0;
    }

    private static async Task<string> MetricsAsync(Target router, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = router.HttpBase, Timeout = TimeSpan.FromSeconds(10) };
        return await http.GetStringAsync("/metrics", ct);
    }

    private void PrintTables(List<RawCostRow> costs, List<RawRateRow> rates)
    {
        var o = ctx.Out;
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine();
        o.WriteLine($"Encode cost per raw frame ({MachineInfo.Cores} cores, {MachineInfo.CpuModel}; one client, one request at a time; server CPU includes HTTP, ingest and the camera):");
        o.WriteLine("| body | size | body bytes | encode ms (server) | request ms | server CPU-ms/frame | JPEG bytes | fps |");
        o.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var r in costs)
            o.WriteLine(string.Format(inv, "| {0} | {1}×{2} | {3:N0} | {4} | {5:0.00} | {6:0.00} | {7:N0} | {8:0.0} |", r.Body, r.Width, r.Height, r.BodyBytes,
                double.IsNaN(r.EncodeMs) ? "—" : r.EncodeMs.ToString("0.00", inv), r.RequestMs, r.CpuSecondsPerFrame * 1000, r.JpegBytes, r.Fps));
        o.WriteLine();
        o.WriteLine($"Raw 1280×720 ingest over the device WebSocket, {DeviceFps:0} fps per device, one camera each:");
        o.WriteLine("| format | devices | offered fps | sent fps | encoded fps | ingested fps | dropped fps | encode ms | server cores | errors |");
        o.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var r in rates)
            o.WriteLine(string.Format(inv, "| {0} | {1} | {2:0} | {3:0.0} | {4:0.0} | {5:0.0} | {6:0.0} | {7:0.00} | {8:0.00} | {9} |", r.Format, r.Devices, r.OfferedFps, r.SentFps,
                r.EncodedFps, r.IngestedFps, r.DroppedFps, r.EncodeMs, r.ServerCores, r.Errors));
    }
}
