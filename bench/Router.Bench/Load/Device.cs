using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using Router.Bench.Media;
using Router.Protocol;

namespace Router.Bench.Load;

/// <summary>
/// One simulated camera device on <c>/ws/device</c>: authenticates with <c>device_auth</c>, then sends real JPEG frames
/// in the binary layout at a fixed rate, paced against the clock (a slot it is too late for is skipped and counted, as a
/// camera would drop it). Messages from the server (errors) are read and counted in the background.
/// </summary>
internal sealed class Device(CameraLedger ledger, FrameSet frames, double fps, int frameOffset) : IFrameSource
{
    private ClientWebSocket? _ws;
    private HttpMessageInvoker? _invoker;
    private Task? _receiving;
    private long _sent, _sentBytes, _skipped, _errors;

    public CameraLedger Ledger { get; } = ledger;

    public long Sent => Interlocked.Read(ref _sent);

    public long SentBytes => Interlocked.Read(ref _sentBytes);

    public long Skipped => Interlocked.Read(ref _skipped);

    public long Errors => Interlocked.Read(ref _errors);

    public string? LastError { get; private set; }

    /// <summary>Connects and authenticates.</summary>
    /// <exception cref="InvalidOperationException">The server refused the device.</exception>
    public async Task ConnectAsync(Uri wsBase, string apiKey, CancellationToken ct)
    {
        (_ws, _invoker) = await Connector.ConnectDeviceAsync(wsBase, apiKey, Ledger.SourceId, ct);
        _receiving = Task.Run(() => ReceiveLoopAsync(_ws));
    }

    /// <summary>Sends frames until <paramref name="stop"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var ws = _ws ?? throw new InvalidOperationException("not connected");
        var headerMax = BinaryFrameCodec.HeaderLength(Ledger.SourceId, Ledger.CameraId);
        var buffer = new byte[headerMax + frames.Frames.Max(f => f.Length)];
        var pacer = new FramePacer(fps);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var slot = await pacer.NextAsync(stop);
                Interlocked.Exchange(ref _skipped, pacer.Skipped);
                var jpeg = frames[slot + frameOffset];
                var (ts, seq) = Ledger.Next();
                var n = BinaryFrameCodec.WriteHeader(new BinaryFrameHeader(Ledger.SourceId, Ledger.CameraId, frames.Width, frames.Height, ts), buffer);
                jpeg.CopyTo(buffer.AsSpan(n));
                n += jpeg.Length;
                Ledger.Record(ts, seq, Stopwatch.GetTimestamp(), (int)((slot + frameOffset) % frames.Frames.Count));
                await ws.SendAsync(buffer.AsMemory(0, n), WebSocketMessageType.Binary, true, stop);
                Interlocked.Increment(ref _sent);
                Interlocked.Add(ref _sentBytes, n);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        catch (WebSocketException e)
        {
            LastError = "send failed: " + e.Message;
            Interlocked.Increment(ref _errors);
        }
    }

    private async Task ReceiveLoopAsync(ClientWebSocket ws)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (ws.State == WebSocketState.Open)
            {
                var r = await ws.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                if (r.MessageType == WebSocketMessageType.Close) return;
                if (r.MessageType == WebSocketMessageType.Text && r.EndOfMessage)
                {
                    Interlocked.Increment(ref _errors);
                    LastError = Encoding.UTF8.GetString(buffer, 0, r.Count);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException) { }
    }

    public async ValueTask DisposeAsync()
    {
        Connector.AbortQuietly(_ws);
        if (_receiving is not null) await _receiving.WaitAsync(TimeSpan.FromSeconds(2)).ContinueWith(_ => { });
        _invoker?.Dispose();
    }
}

/// <summary>
/// Paces a camera against the clock: slot k is due k / fps after the start; a slot the sender is too late for is
/// skipped (and counted), as a camera would drop it.
/// </summary>
internal sealed class FramePacer(double fps)
{
    private readonly double _period = Stopwatch.Frequency / fps;
    private readonly long _start = Stopwatch.GetTimestamp();
    private long _slot = -1;

    /// <summary>Slots skipped so far.</summary>
    public long Skipped { get; private set; }

    /// <summary>Waits until the next slot is due and returns its number.</summary>
    public async Task<long> NextAsync(CancellationToken ct)
    {
        _slot++;
        var due = _start + (long)(_slot * _period);
        var wait = due - Stopwatch.GetTimestamp();
        if (wait > 0) await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), ct);
        var behind = (long)((Stopwatch.GetTimestamp() - due) / _period);
        if (behind >= 1)
        {
            Skipped += behind;
            _slot += behind;
        }
        return _slot;
    }
}
