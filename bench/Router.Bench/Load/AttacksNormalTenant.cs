using System.Diagnostics;
using System.Net.WebSockets;
using Router.Bench.Media;
using Router.Protocol;

namespace Router.Bench.Load;

/// <summary>What the normal tenant saw in one window: frames per second at its consumer and the largest gap between frames.</summary>
internal readonly record struct TenantWindow(double Fps, double LargestGapMs, long Frames, bool ConsumerOpen, bool DeviceOk);

/// <summary>
/// The tenant that streams normally while another plays the attacker (the hostile scenario): one device pushing real
/// JPEG frames at a fixed rate over <c>/ws/device</c>, and one <c>format=binary</c> consumer of that camera that logs
/// the arrival time of every frame, so any window gives its fps and largest gap.
/// </summary>
internal sealed class NormalTenant : IAsyncDisposable
{
    private readonly List<long> _arrivals = new(64 * 1024);
    private readonly CancellationTokenSource _stop = new();
    private readonly Device _device;
    private ClientWebSocket? _consumer;
    private HttpMessageInvoker? _invoker;
    private Task? _deviceLoop;
    private Task? _consumerLoop;

    private NormalTenant(Device device) => _device = device;

    public string? ConsumerClosed { get; private set; }

    /// <summary>Connects the device and the consumer (consumer first, so it sees the first frame) and starts both.</summary>
    /// <exception cref="InvalidOperationException">The server refused either.</exception>
    public static async Task<NormalTenant> StartAsync(Uri wsBase, string apiKey, FrameSet frames, double fps, CancellationToken ct)
    {
        var ledger = new CameraLedger("normal-robot", "front");
        var tenant = new NormalTenant(new Device(ledger, frames, fps, 0));
        try
        {
            tenant._invoker = Connector.CreateInvoker(new ConnectOptions());
            tenant._consumer = await Connector.ConnectAsync(
                new Uri(wsBase, $"/v1/sources/{ledger.SourceId}/video/stream?camera_id={ledger.CameraId}&format=binary&timeout=86400"),
                tenant._invoker, new ConnectOptions(), ct);
            await tenant._consumer.SendAsync(PlexusJson.BuildConsumerAuth(apiKey), WebSocketMessageType.Text, true, ct);
            var init = await Connector.ReceiveTextAsync(tenant._consumer, TimeSpan.FromSeconds(30), ct);
            if (init is null || !init.Contains("\"init\"", StringComparison.Ordinal))
                throw new InvalidOperationException($"normal tenant consumer: no init: {init ?? "closed"}");
            tenant._consumerLoop = Task.Run(() => tenant.ReceiveAsync(tenant._consumer), CancellationToken.None);
            await tenant._device.ConnectAsync(wsBase, apiKey, ct);
            tenant._deviceLoop = Task.Run(() => tenant._device.RunAsync(tenant._stop.Token), CancellationToken.None);
            return tenant;
        }
        catch
        {
            await tenant.DisposeAsync();
            throw;
        }
    }

    /// <summary>Now, on the clock of the arrival log.</summary>
    public static long Now => Stopwatch.GetTimestamp();

    /// <summary>Frames per second and largest gap (counting the gap that spans the window's start, and one still open at its end).</summary>
    public TenantWindow Window(long from, long to)
    {
        long[] inWindow;
        long before;
        lock (_arrivals)
        {
            inWindow = _arrivals.Where(a => a >= from && a <= to).ToArray();
            before = _arrivals.Where(a => a < from).DefaultIfEmpty(from).Max();
        }
        var points = inWindow.Prepend(before).Append(to).ToArray();
        var largest = points.Zip(points.Skip(1), (a, b) => b - a).Max();
        var seconds = (double)(to - from) / Stopwatch.Frequency;
        return new TenantWindow(inWindow.Length / seconds, largest * 1000.0 / Stopwatch.Frequency, inWindow.Length,
            ConsumerClosed is null && _consumer?.State == WebSocketState.Open, _device.LastError is null);
    }

    private async Task ReceiveAsync(ClientWebSocket ws)
    {
        var buffer = new byte[1024 * 1024 + 1024];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var len = 0;
                ValueWebSocketReceiveResult r;
                do
                {
                    if (len == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                    r = await ws.ReceiveAsync(buffer.AsMemory(len), _stop.Token);
                    len += r.Count;
                } while (!r.EndOfMessage);
                var now = Stopwatch.GetTimestamp();
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    ConsumerClosed = $"{ws.CloseStatus} {ws.CloseStatusDescription}";
                    return;
                }
                if (BinaryFrameCodec.TryReadTimestamp(buffer.AsSpan(0, len), out _))
                    lock (_arrivals) _arrivals.Add(now);
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException)
        {
            ConsumerClosed ??= e.Message;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        Connector.AbortQuietly(_consumer);
        await _device.DisposeAsync();
        foreach (var t in new[] { _deviceLoop, _consumerLoop })
            if (t is not null) await t.WaitAsync(TimeSpan.FromSeconds(3)).ContinueWith(_ => { });
        _invoker?.Dispose();
        _stop.Dispose();
    }
}
