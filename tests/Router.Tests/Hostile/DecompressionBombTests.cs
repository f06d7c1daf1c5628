using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using Router.Tests.EndToEnd;
using Router.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Router.Tests.Hostile;

/// <summary>
/// Issue 8's decompression bomb against a real Router on Kestrel: a real 800,000-byte JPEG whose SOF claims
/// 32768×32767 (3.2 GB when decoded) is rejected as <c>TooManyPixels</c> before any decode, over HTTP (413) and on the
/// device socket (error reply, socket open), while another tenant's stream keeps flowing and memory stays flat.
/// </summary>
public sealed class DecompressionBombTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const long MemoryBound = 500L * 1024 * 1024;
    private static readonly Lazy<byte[]> Bomb = new(() => Bombs.Bomb(32768, 32767, 800_000));
    private readonly RouterHost _host = new([]);

    public Task InitializeAsync() => _host.InitializeAsync();

    public Task DisposeAsync() => _host.DisposeAsync();

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    [Fact]
    public async Task A_bomb_over_HTTP_gets_413_before_any_decode_and_memory_and_the_other_tenant_carry_on()
    {
        Assert.Equal(800_000, Bomb.Value.Length);
        await using var neighbour = await NeighbourStream.StartAsync(_host);
        await using var memory = new WorkingSetPeak();
        using var http = _host.Http(RouterHost.AcmeKey);
        long counted = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Router" && instrument.Name == "router.ingest.rejected") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag is { Key: "reason", Value: "TooManyPixels" }) Interlocked.Add(ref counted, value);
        });
        listener.Start();

        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < 3; i++)
        {
            using var content = new ByteArrayContent(Bomb.Value);
            content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
            using var response = await http.PostAsync($"/v1/sources/bomber/video/frames?camera_id=c{i}", content);
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Contains("32768x32767", body);
            Assert.Contains("pixels", body);
        }
        output.WriteLine($"3 bombs answered in {stopwatch.ElapsedMilliseconds} ms; working set +{memory.PeakDelta / 1048576} MB at peak");
        Assert.True(memory.PeakDelta < MemoryBound, $"working set grew by {memory.PeakDelta / 1048576} MB");
        Assert.True(Interlocked.Read(ref counted) >= 3, $"router.ingest.rejected counted {counted} TooManyPixels");

        await neighbour.AssertStillFlowingAsync(output);
    }

    [Fact]
    public async Task A_pass_through_sized_frame_claiming_too_many_pixels_is_refused_too()
    {
        // 100 KB would pass through byte for byte; consumers' browsers would then decode a 3.2 GB image.
        using var http = _host.Http(RouterHost.AcmeKey);
        using var content = new ByteArrayContent(Bombs.Bomb(32768, 32767, 100_000));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        using var response = await http.PostAsync("/v1/sources/bomber/video/frames?camera_id=small", content);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("TooManyPixels", await DeviceReplyForAsync(Bombs.Bomb(65535, 65535, 20_000)));
    }

    [Fact]
    public async Task Eight_bombs_on_one_device_socket_get_error_replies_and_the_socket_stays_open()
    {
        await using var neighbour = await NeighbourStream.StartAsync(_host);
        await using var memory = new WorkingSetPeak();
        await using var device = await WsClient.DeviceAsync(_host, RouterHost.AcmeKey, "bomber-ws");

        // All eight at once, to eight cameras (as a robot with synchronised cameras would send them).
        for (var i = 0; i < 8; i++) await device.SendBinaryAsync(WsClient.BinaryFrame("x", $"c{i}", Bomb.Value, Now));
        // Then a frame that is no JPEG at all: its reply shows the socket is still read and answered.
        await device.SendBinaryAsync(WsClient.BinaryFrame("x", "probe", [1, 2, 3], Now));

        var bombReplies = 0;
        var probe = await device.ReceiveUntilAsync(m =>
        {
            var text = m.Json.GetProperty("message").GetString()!;
            if (text.StartsWith("frame rejected (TooManyPixels)", StringComparison.Ordinal)) bombReplies++;
            else Assert.StartsWith("frame rejected (NotJpeg)", text);
            return text.Contains("NotJpeg");
        }, TimeSpan.FromSeconds(20));
        Assert.Null(probe.CloseStatus);
        Assert.Equal(WebSocketState.Open, device.State);
        // At least the frames the socket lets await a verdict at once are answered; none may be decoded.
        Assert.InRange(bombReplies, 4, 8);
        output.WriteLine($"{bombReplies} of 8 bombs answered TooManyPixels; working set +{memory.PeakDelta / 1048576} MB at peak");
        Assert.True(memory.PeakDelta < MemoryBound, $"working set grew by {memory.PeakDelta / 1048576} MB");

        await neighbour.AssertStillFlowingAsync(output);
    }

    [Fact]
    public async Task A_valid_8K_frame_in_the_re_encode_range_is_still_re_encoded()
    {
        // 7680×4320 is exactly the default pixel limit; padded to 800,000 bytes it must be decoded and re-encoded.
        var frame = Bombs.PaddedRealFrame(7680, 4320, 800_000);
        await using var memory = new WorkingSetPeak();
        using var http = _host.Http(RouterHost.AcmeKey);
        using var content = new ByteArrayContent(frame);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        var stopwatch = Stopwatch.StartNew();
        using var response = await http.PostAsync("/v1/sources/big/video/frames?camera_id=8k", content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Contains("\"reencoded\":true", body);
        Assert.Contains("\"width\":7680", body);
        output.WriteLine($"8K re-encode: {stopwatch.ElapsedMilliseconds} ms, working set +{memory.PeakDelta / 1048576} MB at peak; {body}");
        Assert.True(memory.PeakDelta < MemoryBound, $"working set grew by {memory.PeakDelta / 1048576} MB");

        // One pixel row more is over the limit, whatever the byte size.
        using var over = new ByteArrayContent(Bombs.PaddedRealFrame(7680, 4321, 800_000));
        over.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        using var rejected = await http.PostAsync("/v1/sources/big/video/frames?camera_id=8k-plus", over);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, rejected.StatusCode);
    }

    private async Task<string> DeviceReplyForAsync(byte[] jpeg)
    {
        await using var device = await WsClient.DeviceAsync(_host, RouterHost.AcmeKey, "bomber-one");
        await device.SendBinaryAsync(WsClient.BinaryFrame("x", "one", jpeg, Now));
        var reply = await device.ReceiveAsync(TimeSpan.FromSeconds(10));
        Assert.Null(reply.CloseStatus);
        return reply.Json.GetProperty("message").GetString()!;
    }
}

/// <summary>
/// The other tenant: globex's device pushes real frames at 20 fps to one camera and a globex consumer counts what it
/// receives, so a test can show that an attack by acme leaves it flowing.
/// </summary>
internal sealed class NeighbourStream : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<long> _arrivals = [];
    private WsClient _device = null!;
    private WsClient _consumer = null!;
    private Task _pushing = Task.CompletedTask;
    private Task _receiving = Task.CompletedTask;

    public static async Task<NeighbourStream> StartAsync(RouterHost host)
    {
        var stream = new NeighbourStream();
        stream._device = await WsClient.DeviceAsync(host, RouterHost.GlobexKey, "neighbour");
        (stream._consumer, _) = await WsClient.ConsumerAsync(host, RouterHost.GlobexKey, "neighbour", "?camera_id=cam&format=binary");
        stream._pushing = stream.PushAsync();
        stream._receiving = stream.ReceiveAsync();
        await stream.WaitForFramesAsync(5, TimeSpan.FromSeconds(15));
        return stream;
    }

    private async Task PushAsync()
    {
        using var clock = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        for (var i = 0; !_stop.IsCancellationRequested; i++)
        {
            await _device.SendBinaryAsync(WsClient.BinaryFrame("x", "cam", TestFrames.Vtest[i % TestFrames.Vtest.Count],
                DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + i));
            try { await clock.WaitForNextTickAsync(_stop.Token); } catch (OperationCanceledException) { return; }
        }
    }

    private async Task ReceiveAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            WsMessage m;
            try { m = await _consumer.ReceiveAsync(TimeSpan.FromSeconds(30)); }
            catch (Exception e) when (e is OperationCanceledException or WebSocketException) { return; }
            if (m.CloseStatus is not null) return;
            if (m.Type == WebSocketMessageType.Binary) lock (_arrivals) _arrivals.Add(Environment.TickCount64);
        }
    }

    private int Count { get { lock (_arrivals) return _arrivals.Count; } }

    private async Task WaitForFramesAsync(int more, TimeSpan within)
    {
        var target = Count + more;
        var deadline = WaitDeadline.In(within);
        while (Count < target)
        {
            if (deadline.Passed) throw new TimeoutException($"the other tenant got {Count} frames, expected {target}");
            await Task.Delay(20);
        }
    }

    /// <summary>Asserts that 10 more frames arrive within 10 s, and prints the largest gap seen so far.</summary>
    public async Task AssertStillFlowingAsync(ITestOutputHelper output)
    {
        await WaitForFramesAsync(10, TimeSpan.FromSeconds(10));
        long largestGap;
        lock (_arrivals) largestGap = _arrivals.Zip(_arrivals.Skip(1), (a, b) => b - a).DefaultIfEmpty(0).Max();
        output.WriteLine($"other tenant: {Count} frames, largest gap {largestGap} ms");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _pushing;
        await _device.DisposeAsync();
        await _consumer.DisposeAsync();
        try { await _receiving; } catch (ObjectDisposedException) { }
        _stop.Dispose();
    }
}
