using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Router.Bench.Media;

namespace Router.Bench.Load;

/// <summary>What the measurement needs of a camera: connect, send paced frames until stopped, counters.</summary>
internal interface IFrameSource : IAsyncDisposable
{
    long Sent { get; }

    long Skipped { get; }

    long Errors { get; }

    string? LastError { get; }

    Task ConnectAsync(Uri wsBase, string apiKey, CancellationToken ct);

    Task RunAsync(CancellationToken stop);
}

/// <summary>
/// The camera of go2rtc: go2rtc pulls its streams, so its source is <c>exec:bash -c "cat &lt; /dev/tcp/127.0.0.1/PORT"</c>
/// (Target.StartGo2rtcAsync) and this listener on PORT writes the bare JPEGs of the frame set back to back, paced
/// against the clock exactly like <see cref="Device"/> (a slot it is too late for is skipped), and records each send in
/// the camera's ledger by frame index (go2rtc's WebSocket sends bare JPEG, without timestamps). go2rtc starts the source
/// with its first consumer and stops it after its last, so the feeder accepts again whenever the connection ends.
/// </summary>
internal sealed class StreamFeeder : IFrameSource
{
    private readonly CameraLedger _ledger;
    private readonly FrameSet _frames;
    private readonly double _fps;
    private readonly int _frameOffset;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _sent, _skipped, _errors;

    public StreamFeeder(CameraLedger ledger, FrameSet frames, double fps, int frameOffset, int port)
    {
        _ledger = ledger;
        _frames = frames;
        _fps = fps;
        _frameOffset = frameOffset;
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Start();
        _loop = Task.Run(() => AcceptLoopAsync(_stop.Token));
    }

    public long Sent => Interlocked.Read(ref _sent);

    public long Skipped => Interlocked.Read(ref _skipped);

    public long Errors => Interlocked.Read(ref _errors);

    public string? LastError { get; private set; }

    /// <summary>Nothing to do: go2rtc connects to the feeder when its first consumer arrives.</summary>
    public Task ConnectAsync(Uri wsBase, string apiKey, CancellationToken ct) => Task.CompletedTask;

    /// <summary>The feeder sends from the first connection on (go2rtc probes the stream while its first consumer connects).</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        try { await Task.Delay(Timeout.Infinite, stop); }
        catch (OperationCanceledException) { }
    }

    private async Task AcceptLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await _listener.AcceptSocketAsync(ct); }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            using (socket)
            {
                socket.NoDelay = true;
                await SendLoopAsync(socket, ct);
            }
        }
    }

    private async Task SendLoopAsync(Socket socket, CancellationToken ct)
    {
        var pacer = new FramePacer(_fps);
        var skippedBefore = Interlocked.Read(ref _skipped);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var slot = await pacer.NextAsync(ct);
                Interlocked.Exchange(ref _skipped, skippedBefore + pacer.Skipped);
                var index = (int)((slot + _frameOffset) % _frames.Frames.Count);
                var (ts, seq) = _ledger.Next();
                _ledger.Record(ts, seq, Stopwatch.GetTimestamp(), index);
                await socket.SendAsync(_frames.Frames[index], SocketFlags.None, ct);
                Interlocked.Increment(ref _sent);
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            LastError = "go2rtc closed its source: " + e.Message;
            Interlocked.Increment(ref _errors);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }
}
