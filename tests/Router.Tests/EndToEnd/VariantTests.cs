using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Router.Actors.Camera;
using Router.Actors.Media;
using Router.Protocol;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.EndToEnd;

/// <summary>
/// Consumers' picture variants end to end on real Kestrel with real WebSockets and real vtest JPEG frames (768x576):
/// one encode per frame per variant however many consumers share it, the bound on variants per camera, a busy encoder
/// that does not slow the full-size stream, bad parameters, and variant snapshots.
/// </summary>
[Collection(RouterHostCollection.Name)]
public sealed class VariantTests(RouterHost host)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Fifty_consumers_of_one_variant_cost_one_encode_per_frame()
    {
        const string source = "variant-fifty";
        using var http = host.Http(RouterHost.GlobexKey);
        var ts = 1_000_000L;
        await PushAsync(http, source, ++ts, 0); // the camera exists before the consumers subscribe
        using var active = new CounterReader("router.variant.active", "globex");
        var consumers = await Consumers.OpenAsync(host, RouterHost.GlobexKey, source, "?camera_id=cam&width=320", 50);
        var full = await Consumers.OpenAsync(host, RouterHost.GlobexKey, source, "?camera_id=cam", 1);

        // Warm up until every consumer gets frames, then sync on one frame so no encode is in flight.
        await PushUntilAsync(http, source, () => ++ts, () => consumers.AllReceivedAtLeast(1) && full.AllReceivedAtLeast(1));
        await PushAndWaitAsync(http, source, ++ts, 1, consumers, full);

        using var encodes = new CounterReader("router.variant.encodes", "globex");
        const int frames = 10;
        for (var i = 0; i < frames; i++) await PushAndWaitAsync(http, source, ++ts, 2 + i, consumers, full);

        Assert.Equal(frames, encodes.Total); // one encode per frame, not one per consumer (50)
        Assert.All(consumers.Sizes, s => Assert.Equal((320, 240), s));
        Assert.Equal((TestFrames.Width, TestFrames.Height), Assert.Single(full.Sizes));
        // The frame sent is a real JPEG of the announced size.
        var jpeg = Convert.FromBase64String(consumers.LastMessage(0).GetProperty("frame").GetString()!);
        Assert.True(JpegHeader.TryParse(jpeg, out var info, out _));
        Assert.Equal((320, 240), (info.Width, info.Height));
        Assert.Equal(1, active.Total); // one variant for the 50

        await consumers.DisposeAsync();
        await full.DisposeAsync();
        await AwaitAsync(() => active.Total == 0, "the variant stopped after its last consumer");
    }

    [Fact]
    public async Task Variants_per_camera_are_bounded_and_dropped_after_their_last_consumer()
    {
        const string source = "variant-bound";
        using var http = host.Http(RouterHost.GlobexKey);
        var ts = 2_000_000L;
        await PushAsync(http, source, ++ts, 0);
        using var active = new CounterReader("router.variant.active", "globex");
        using var substituted = new CounterReader("router.variant.substituted", "globex");
        var widths = new[] { 64, 128, 256, 384 };
        var opened = new List<Consumers>();
        try
        {
            foreach (var width in widths) opened.Add(await Consumers.OpenAsync(host, RouterHost.GlobexKey, source, $"?camera_id=cam&width={width}", 1));
            await PushUntilAsync(http, source, () => ++ts, () => opened.All(c => c.AllReceivedAtLeast(1)));
            Assert.Equal(4, active.Total); // the default Router:Camera:Variants:MaxPerCamera

            // A fifth size joins the nearest existing variant (400 wide is nearest to 384), and is counted.
            var fifth = await Consumers.OpenAsync(host, RouterHost.GlobexKey, source, "?camera_id=cam&width=400", 1);
            opened.Add(fifth);
            await PushUntilAsync(http, source, () => ++ts, () => fifth.AllReceivedAtLeast(1));
            Assert.Equal((384, 288), Assert.Single(fifth.Sizes));
            Assert.Equal(1, substituted.Total);
            Assert.Equal(4, active.Total);
            for (var i = 0; i < widths.Length; i++) Assert.Equal(widths[i], Assert.Single(opened[i].Sizes).Width);
        }
        finally
        {
            foreach (var c in opened) await c.DisposeAsync();
        }
        // Every variant stops after its last consumer.
        await AwaitAsync(() => active.Total == 0, "variants stopped after their last consumer");
    }

    [Fact]
    public async Task A_busy_variant_encoder_drops_its_own_frames_and_never_holds_back_the_full_size_stream()
    {
        const string source = "variant-busy";
        using var http = host.Http(RouterHost.GlobexKey);
        var ts = 3_000_000L;
        await PushAsync(http, source, ++ts, 0);
        using var active = new CounterReader("router.variant.active", "globex");
        var small = await Consumers.OpenAsync(host, RouterHost.GlobexKey, source, "?camera_id=cam&width=160&quality=50", 1);
        var full = await Consumers.OpenAsync(host, RouterHost.GlobexKey, source, "?camera_id=cam", 1);
        await PushUntilAsync(http, source, () => ++ts, () => small.AllReceivedAtLeast(1) && full.AllReceivedAtLeast(1));
        await PushAndWaitAsync(http, source, ++ts, 1, small, full);

        // Take every slot of the gateway's variant encoder.
        var system = host.Services.GetRequiredService<ActorSystem>();
        var gate = VariantEncodeGate.For(system, host.Services.GetRequiredService<IOptions<CameraOptions>>().Value.Variants);
        using var release = new ManualResetEventSlim();
        var held = Enumerable.Range(0, gate.Concurrency).Select(_ => gate.RunAsync(() => release.Wait(Deadline))).ToList();
        using var dropped = new CounterReader("router.variant.dropped", "globex");
        try
        {
            var blockedAt = small.LatestTimestamp(0);
            for (var i = 0; i < 10; i++) await PushAndWaitAsync(http, source, ++ts, 2 + i, full); // full size goes on
            Assert.Equal(blockedAt, small.LatestTimestamp(0)); // nothing while its encoder was blocked
        }
        finally
        {
            release.Set();
            await Task.WhenAll(held);
        }
        // The variant catches up with the newest frame; the frames in between were dropped, not queued.
        await AwaitAsync(() => small.LatestTimestamp(0) == ts, "the variant delivered the newest frame after the encoder was free");
        Assert.True(dropped.Total >= 5, $"only {dropped.Total} frames counted as dropped");
        Assert.Equal((160, 120), Assert.Single(small.Sizes));

        await small.DisposeAsync();
        await full.DisposeAsync();
        await AwaitAsync(() => active.Total == 0, "the variant stopped after its last consumer");
    }

    [Theory]
    [InlineData("width=8")]
    [InlineData("width=7681")]
    [InlineData("width=abc")]
    [InlineData("width=320.5")]
    [InlineData("height=-20")]
    [InlineData("width=320&width=640")]
    [InlineData("quality=0")]
    [InlineData("quality=101")]
    [InlineData("quality=")]
    public async Task Bad_variant_parameters_get_400_on_the_stream_and_the_snapshot(string query)
    {
        using var http = host.Http(RouterHost.GlobexKey);
        await PushAsync(http, "variant-bad", 4_000_000, 0);
        using var stream = await http.GetAsync($"/v1/sources/variant-bad/video/stream?camera_id=cam&{query}");
        Assert.Equal(HttpStatusCode.BadRequest, stream.StatusCode);
        Assert.Contains(query[..query.IndexOf('=')], await stream.Content.ReadAsStringAsync());
        using var snapshot = await http.GetAsync($"/v1/sources/variant-bad/cameras/cam/snapshot.jpg?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, snapshot.StatusCode);
        Assert.Contains(query[..query.IndexOf('=')], await snapshot.Content.ReadAsStringAsync());

        var error = await Assert.ThrowsAsync<WebSocketException>(() =>
            WsClient.ConsumerAsync(host, RouterHost.GlobexKey, "variant-bad", $"?camera_id=cam&{query}"));
        Assert.Contains("400", error.Message);
    }

    [Fact]
    public async Task A_snapshot_variant_is_scaled_keeps_its_aspect_ratio_and_is_never_upscaled()
    {
        using var http = host.Http(RouterHost.GlobexKey);
        await PushAsync(http, "variant-snap", 5_000_000, 3);
        async Task<(int, int, int)> Snapshot(string query)
        {
            using var response = await http.GetAsync($"/v1/sources/variant-snap/cameras/cam/snapshot.jpg{query}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var jpeg = await response.Content.ReadAsByteArrayAsync();
            Assert.True(JpegHeader.TryParse(jpeg, out var info, out _));
            return (info.Width, info.Height, jpeg.Length);
        }

        var (w, h, fullBytes) = await Snapshot("");
        Assert.Equal((TestFrames.Width, TestFrames.Height), (w, h));
        var (w1, h1, _) = await Snapshot("?width=320");
        Assert.Equal((320, 240), (w1, h1));
        var (w2, h2, _) = await Snapshot("?height=120");
        Assert.Equal((160, 120), (w2, h2));
        var (w3, h3, _) = await Snapshot("?width=640&height=120"); // the tighter bound wins
        Assert.Equal((160, 120), (w3, h3));
        var (w4, h4, sameBytes) = await Snapshot("?width=4000"); // never upscaled; fits already: the frame itself
        Assert.Equal((TestFrames.Width, TestFrames.Height, fullBytes), (w4, h4, sameBytes));
        var (w6, h6, _) = await Snapshot("?width=4000&quality=30"); // a quality asked for: re-encoded at full size
        Assert.Equal((TestFrames.Width, TestFrames.Height), (w6, h6));
        var (w5, h5, lowBytes) = await Snapshot("?quality=10"); // same size, lower quality
        Assert.Equal((TestFrames.Width, TestFrames.Height), (w5, h5));
        Assert.True(lowBytes < fullBytes / 2, $"quality=10 gave {lowBytes} bytes against {fullBytes}");
    }

    // --- helpers ---------------------------------------------------------------------------------------------------

    private static async Task PushAsync(HttpClient http, string source, long timestampMs, int frame)
    {
        using var body = new ByteArrayContent(TestFrames.Vtest[frame % TestFrames.Vtest.Count]);
        body.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        using var response = await http.PostAsync($"/v1/sources/{source}/video/frames?camera_id=cam&timestamp={timestampMs}", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    /// <summary>Pushes one frame and waits until every consumer of every group received it.</summary>
    private static async Task PushAndWaitAsync(HttpClient http, string source, long timestampMs, int frame, params Consumers[] groups)
    {
        await PushAsync(http, source, timestampMs, frame);
        await AwaitAsync(() => groups.All(g => g.AllReceived(timestampMs)), $"every consumer received frame {timestampMs}");
    }

    /// <summary>Pushes a frame every 100 ms until <paramref name="done"/>.</summary>
    private static async Task PushUntilAsync(HttpClient http, string source, Func<long> nextTimestamp, Func<bool> done)
    {
        var deadline = WaitDeadline.In(Deadline);
        var frame = 0;
        while (!done())
        {
            if (deadline.Passed) throw new TimeoutException("consumers got no frames");
            await PushAsync(http, source, nextTimestamp(), frame++);
            await Task.Delay(100);
        }
    }

    private static async Task AwaitAsync(Func<bool> condition, string what)
    {
        var deadline = WaitDeadline.In(Deadline);
        while (!condition())
        {
            if (deadline.Passed) throw new TimeoutException($"not within {Deadline.TotalSeconds} s: {what}");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Sums a counter's measurements for one tenant while alive; for an observable gauge (<c>router.variant.active</c>),
    /// <see cref="Total"/> is its current value for the tenant.
    /// </summary>
    private sealed class CounterReader : IDisposable
    {
        private readonly MeterListener _listener = new();
        private bool _gauge;
        private long _total;

        public CounterReader(string name, string tenant)
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name != "Router" || instrument.Name != name) return;
                _gauge = instrument is ObservableGauge<long>;
                l.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                    if (tag.Key == "tenant" && (string?)tag.Value == tenant)
                    {
                        if (_gauge) Interlocked.Exchange(ref _total, value);
                        else Interlocked.Add(ref _total, value);
                    }
            });
            _listener.Start();
        }

        public long Total
        {
            get
            {
                if (_gauge) _listener.RecordObservableInstruments();
                return Interlocked.Read(ref _total);
            }
        }

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>Consumers of one stream, each read by a background loop that records what it got.</summary>
    private sealed class Consumers : IAsyncDisposable
    {
        private readonly List<WsClient> _clients = [];
        private readonly List<Task> _loops = [];
        private readonly CancellationTokenSource _stop = new();
        private long[] _latest = [];
        private int[] _count = [];
        private System.Text.Json.JsonElement[] _last = [];
        private readonly ConcurrentDictionary<(int, int), bool> _sizes = new();

        public static async Task<Consumers> OpenAsync(RouterHost host, string key, string source, string query, int count)
        {
            var group = new Consumers { _latest = new long[count], _count = new int[count], _last = new System.Text.Json.JsonElement[count] };
            for (var i = 0; i < count; i++)
            {
                var (client, _) = await WsClient.ConsumerAsync(host, key, source, query);
                group._clients.Add(client);
                var index = i;
                group._loops.Add(Task.Run(() => group.ReadAsync(client, index)));
            }
            return group;
        }

        private async Task ReadAsync(WsClient client, int index)
        {
            while (!_stop.IsCancellationRequested)
            {
                WsMessage message;
                try { message = await client.ReceiveAsync(TimeSpan.FromMinutes(2)); }
                catch (Exception) { return; }
                if (message.CloseStatus is not null) return;
                var json = message.Json;
                if (json.GetProperty("type").GetString() != "video_frame") continue;
                _sizes[(json.GetProperty("width").GetInt32(), json.GetProperty("height").GetInt32())] = true;
                lock (this) _last[index] = json.Clone();
                Volatile.Write(ref _latest[index], json.GetProperty("timestamp").GetInt64());
                Interlocked.Increment(ref _count[index]);
            }
        }

        public IReadOnlyCollection<(int Width, int Height)> Sizes => _sizes.Keys.ToList();

        public long LatestTimestamp(int index) => Volatile.Read(ref _latest[index]);

        public System.Text.Json.JsonElement LastMessage(int index)
        {
            lock (this) return _last[index];
        }

        public bool AllReceived(long timestampMs) => Enumerable.Range(0, _latest.Length).All(i => Volatile.Read(ref _latest[i]) >= timestampMs);

        public bool AllReceivedAtLeast(int frames) => Enumerable.Range(0, _count.Length).All(i => Volatile.Read(ref _count[i]) >= frames);

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            foreach (var client in _clients) await client.DisposeAsync();
            await Task.WhenAny(Task.WhenAll(_loops), Task.Delay(TimeSpan.FromSeconds(5)));
            _stop.Dispose();
        }
    }
}
