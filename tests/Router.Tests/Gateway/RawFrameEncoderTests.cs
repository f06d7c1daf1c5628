using System.Diagnostics.Metrics;
using OpenCvSharp;
using Router.Cli.FrameSources;
using Router.Gateway.Ingest;
using Router.Protocol;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Gateway;

/// <summary>Counts measurements of one Router instrument whose tags include every given pair (process-wide).</summary>
internal sealed class RouterCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;

    public RouterCounter(string instrument, params (string Key, string Value)[] tags)
    {
        _listener.InstrumentPublished = (i, l) =>
        {
            if (i.Meter.Name == "Router" && i.Name == instrument) l.EnableMeasurementEvents(i);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, measured, _) =>
        {
            foreach (var (key, expected) in tags)
            {
                var found = false;
                foreach (var tag in measured)
                    if (tag.Key == key && Equals(tag.Value, expected)) found = true;
                if (!found) return;
            }
            Interlocked.Add(ref _total, value);
        });
        _listener.Start();
    }

    public long Total => Interlocked.Read(ref _total);

    public void Dispose() => _listener.Dispose();
}

/// <summary>Real frames converted to each raw format and encoded by the gateway's encoder with real OpenCV.</summary>
public sealed class RawFrameEncoderTests
{
    private static RawIngestOptions Options(int concurrency = 1, int queue = 8, int perTenant = 4) =>
        new() { EncodeConcurrency = concurrency, EncodeQueueLimit = queue, MaxEncodesPerTenant = perTenant };

    /// <summary>Mean absolute difference per channel (0–255) between two BGR images of one size.</summary>
    internal static double MeanDifference(Mat a, Mat b)
    {
        using var diff = new Mat();
        Cv2.Absdiff(a, b, diff);
        var mean = Cv2.Mean(diff);
        return (mean.Val0 + mean.Val1 + mean.Val2) / 3;
    }

    internal static Mat VtestFrame(int index = 0) => Cv2.ImDecode(TestFrames.Vtest[index], ImreadModes.Color);

    internal static RawFrame Raw(Mat bgr, RawPixelFormat format, int stride = 0)
    {
        var (layout, pixels) = RawPixels.FromBgr(bgr, format, stride);
        return new RawFrame(layout, pixels);
    }

    [Theory]
    [InlineData(RawPixelFormat.I420, 0)]
    [InlineData(RawPixelFormat.Nv12, 0)]
    [InlineData(RawPixelFormat.Rgba, 0)]
    [InlineData(RawPixelFormat.Bgra, 0)]
    [InlineData(RawPixelFormat.Rgb24, 0)]
    [InlineData(RawPixelFormat.Bgr24, 0)]
    [InlineData(RawPixelFormat.I420, 800)]
    [InlineData(RawPixelFormat.Nv12, 832)]
    [InlineData(RawPixelFormat.Rgba, 3200)]
    [InlineData(RawPixelFormat.Bgr24, 2310)]
    public void Each_format_encodes_to_a_jpeg_close_to_the_original(RawPixelFormat format, int stride)
    {
        using var original = VtestFrame();
        var jpeg = RawJpeg.Encode(Raw(original, format, stride), 90);
        using var decoded = Cv2.ImDecode(jpeg, ImreadModes.Color);
        Assert.Equal((TestFrames.Width, TestFrames.Height), (decoded.Width, decoded.Height));
        var difference = MeanDifference(original, decoded);
        // 4:2:0 chroma subsampling and JPEG loss; a swapped channel order or a wrong plane would be far above this.
        Assert.True(difference < 6, $"{format}: mean difference {difference:0.00}");
    }

    [Fact]
    public void Swapped_channels_would_be_noticed_by_the_comparison()
    {
        using var original = VtestFrame();
        // RGB pixels declared as BGR: the comparison must fail, or the test above proves nothing.
        var (layout, rgb) = RawPixels.FromBgr(original, RawPixelFormat.Rgb24);
        var wrong = new RawFrame(layout with { Format = RawPixelFormat.Bgr24 }, rgb);
        using var decoded = Cv2.ImDecode(RawJpeg.Encode(wrong, 90), ImreadModes.Color);
        Assert.True(MeanDifference(original, decoded) > 10);
    }

    [Fact]
    public async Task A_camera_sending_faster_than_the_gateway_encodes_loses_its_own_older_frames_newest_wins()
    {
        using var encoder = new RawFrameEncoder(Options(), TimeSpan.FromSeconds(30));
        using var replaced = new RouterCounter("router.raw.dropped", ("tenant", "newest-wins"), ("reason", "replaced"));
        using var encoded = new RouterCounter("router.raw.encoded", ("tenant", "newest-wins"), ("format", "rgba"));
        using var original = VtestFrame();
        var frames = Enumerable.Range(0, 5).Select(_ => Raw(original, RawPixelFormat.Rgba)).ToList();

        var held = await encoder.AcquireEncodeSlotAsync(); // the gateway's only slot is busy
        var results = frames.Select(f => encoder.EncodeAsync("newest-wins", "cam", f)).ToList();
        var older = await Task.WhenAll(results.Take(4)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(older, r => Assert.Equal(RawEncodeStatus.Replaced, r.Status));
        Assert.False(results[4].IsCompleted);
        Assert.Equal(4, replaced.Total);

        held.Dispose();
        var newest = await results[4].WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(RawEncodeStatus.Encoded, newest.Status);
        using var decoded = Cv2.ImDecode(newest.Jpeg!, ImreadModes.Color);
        Assert.Equal(TestFrames.Width, decoded.Width);
        Assert.Equal(1, encoded.Total);
        await AwaitEmptyAsync(encoder);
    }

    [Fact]
    public async Task A_flooding_tenant_does_not_take_the_gateway_slots_from_another_tenant()
    {
        // One slot, each tenant at most one camera at the gateway's gate: tenant A's three cameras queue behind their
        // first, so tenant B's camera, arriving last, is encoded second, not fourth.
        using var encoder = new RawFrameEncoder(Options(concurrency: 1, perTenant: 1), TimeSpan.FromSeconds(30));
        using var original = VtestFrame();
        var frame = Raw(original, RawPixelFormat.I420);
        // The order of the encodes, read where they are counted (router.raw.encoded is recorded by the encoding thread
        // right after each encode, before the frame's task completes).
        var order = new List<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) =>
        {
            if (i.Meter.Name == "Router" && i.Name == "router.raw.encoded") l.EnableMeasurementEvents(i);
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag is { Key: "tenant", Value: "flood" or "calm" }) lock (order) order.Add((string)tag.Value!);
        });
        listener.Start();
        var held = await encoder.AcquireEncodeSlotAsync();
        Task<RawEncodeResult> Submit(string tenant, string camera) => encoder.EncodeAsync(tenant, $"{tenant}/{camera}", frame);
        var a = new List<Task<RawEncodeResult>> { Submit("flood", "a1"), Submit("flood", "a2"), Submit("flood", "a3") };
        await AwaitAsync(() => encoder.QueuedAtGateway == 1, "a1 waits at the gateway's gate"); // a2 and a3 wait behind a1, within tenant A
        var b = Submit("calm", "b1");
        await AwaitAsync(() => encoder.QueuedAtGateway == 2, "b1 waits at the gateway's gate");
        held.Dispose();
        var all = await Task.WhenAll([.. a, b]).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.All(all, r => Assert.Equal(RawEncodeStatus.Encoded, r.Status));
        await AwaitEmptyAsync(encoder);
        lock (order) Assert.Equal(["flood", "calm", "flood", "flood"], order);
    }

    [Fact]
    public async Task A_full_gateway_answers_busy_at_once()
    {
        using var encoder = new RawFrameEncoder(Options(concurrency: 1, queue: 0), TimeSpan.FromSeconds(30));
        using var busy = new RouterCounter("router.raw.dropped", ("tenant", "busy-tenant"), ("reason", "busy"));
        using var original = VtestFrame();
        using (await encoder.AcquireEncodeSlotAsync())
        {
            var result = await encoder.EncodeAsync("busy-tenant", "cam", Raw(original, RawPixelFormat.Bgr24)).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(RawEncodeStatus.Busy, result.Status);
            Assert.Contains("busy on this gateway", result.Message);
        }
        Assert.Equal(1, busy.Total);
        await AwaitEmptyAsync(encoder);
    }

    [Fact]
    public async Task A_frame_that_waits_past_the_ingest_timeout_is_dropped_unencoded()
    {
        using var encoder = new RawFrameEncoder(Options(), TimeSpan.FromMilliseconds(300));
        using var original = VtestFrame();
        using (await encoder.AcquireEncodeSlotAsync())
        {
            var result = await encoder.EncodeAsync("expiry", "cam", Raw(original, RawPixelFormat.Nv12)).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(RawEncodeStatus.Expired, result.Status);
            Assert.Contains("waited more than 300 ms", result.Message);
        }
        await AwaitEmptyAsync(encoder);
        // The gateway works on afterwards.
        var next = await encoder.EncodeAsync("expiry", "cam", Raw(original, RawPixelFormat.Nv12)).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(RawEncodeStatus.Encoded, next.Status);
    }

    private static Task AwaitEmptyAsync(RawFrameEncoder encoder) => AwaitAsync(() => encoder.Cameras == 0, "no camera left in the encoder");

    /// <summary>Polls <paramref name="condition"/> until it holds, for at most 10 s.</summary>
    internal static async Task AwaitAsync(Func<bool> condition, string what)
    {
        var deadline = WaitDeadline.In(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (deadline.Passed) throw new TimeoutException($"not within 10 s: {what}");
            await Task.Delay(10);
        }
    }
}
