using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using HdrHistogram;
using Router.Protocol;

namespace Router.Bench.Load;

/// <summary>Shared by the consumers of one measurement: the window flag, the latency histograms, the format check.</summary>
internal sealed class RunState
{
    private volatile bool _measuring;
    private int _checked;

    public bool Measuring => _measuring;

    /// <summary>The frames the devices send (to recognise bare JPEG, which has no timestamp).</summary>
    public Media.FrameSet? Frames { get; init; }

    /// <summary>Frames older than this at receipt count as late.</summary>
    public long LateMicros { get; init; } = 500_000;

    /// <summary>Latency (µs) of every frame received in the window, per group.</summary>
    public LongConcurrentHistogram LatencyFast { get; } = NewHistogram();

    public LongConcurrentHistogram LatencySlow { get; } = NewHistogram();

    /// <summary>"ok" once the first frame was fully decoded and matched the protocol, else what was wrong.</summary>
    public string FormatCheck { get; private set; } = "no frame";

    public void Start() => _measuring = true;

    public void Stop() => _measuring = false;

    public static LongConcurrentHistogram NewHistogram() => new(1, 120_000_000, 3);

    /// <summary>Fully decodes the first frame any consumer got (once per run).</summary>
    public void CheckOnce(string format, ReadOnlySpan<byte> message)
    {
        if (Interlocked.Exchange(ref _checked, 1) != 0) return;
        try
        {
            if (format == "json")
            {
                using var doc = JsonDocument.Parse(message.ToArray());
                var root = doc.RootElement;
                var jpeg = root.GetProperty("frame").GetBytesFromBase64();
                FormatCheck = root.GetProperty("type").GetString() == "video_frame" && jpeg is [0xFF, 0xD8, ..] &&
                              root.GetProperty("width").GetInt32() > 0 && root.TryGetProperty("timestamp", out _)
                    ? "ok" : "json frame lacks fields or the JPEG";
            }
            else if (format == "binary")
            {
                FormatCheck = BinaryFrameCodec.TryDecode(message, out var header, out var offset, out _) && header.Width > 0 &&
                              message[offset] == 0xFF && message[offset + 1] == 0xD8 ? "ok" : "binary frame malformed";
            }
            else
            {
                FormatCheck = message is [0xFF, 0xD8, ..] ? "ok" : "not a JPEG";
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
        {
            FormatCheck = "json frame malformed: " + e.Message;
        }
    }
}

/// <summary>One received frame of a slow consumer after it resumed (for the newest-on-resume check).</summary>
internal readonly record struct ResumeRecord(long Seq, long StartOffset, long Bytes);

/// <summary>
/// One consumer WebSocket (<c>/v1/sources/{source}/video/stream?camera_id=…&amp;format=…</c>): authenticates, waits for
/// <c>init</c>, then reads frames as fast as it can (or, when slow, one frame per <see cref="SlowInterval"/>, so TCP
/// backpressure reaches the server). For every frame it looks the timestamp up in the camera's ledger: latency into
/// the run's histogram, sequence gaps (conflated by the server), late and out-of-order frames.
/// </summary>
internal sealed class Consumer(int id, CameraLedger ledger, string format, RunState run, TimeSpan slowInterval)
{
    private ClientWebSocket? _ws;
    private HttpMessageInvoker? _invoker;
    private TaskCompletionSource? _pauseGate;
    private List<ResumeRecord>? _resumeLog;
    private long _resumeBytes;
    private byte[] _buffer = new byte[256 * 1024];
    private long _lastSeq;

    public int Id { get; } = id;

    public CameraLedger Ledger { get; } = ledger;

    public TimeSpan SlowInterval { get; } = slowInterval;

    public bool IsSlow => SlowInterval > TimeSpan.Zero;

    public IPEndPoint? LocalEndPoint { get; private set; }

    // Counters of the measurement window (written only by this consumer's loop).
    public long Frames;
    public long Bytes;
    public long Gaps;
    public long Late;
    public long OutOfOrder;
    public long Unknown;
    public long Other;
    public long StalenessSum;
    public long AllFrames;
    public string? Closed;

    public Task? Loop { get; private set; }

    /// <summary>More query parameters of the stream URL, e.g. <c>&amp;width=320</c> (a variant); empty for none.</summary>
    public string ExtraQuery { get; init; } = "";

    /// <summary>Connects, authenticates and waits for init.</summary>
    /// <exception cref="InvalidOperationException">Refused, or no init.</exception>
    public async Task ConnectAsync(Uri wsBase, string apiKey, ConnectOptions options, HttpMessageInvoker? shared, CancellationToken ct)
    {
        var uri = new Uri(wsBase, $"/v1/sources/{Uri.EscapeDataString(Ledger.SourceId)}/video/stream?camera_id={Uri.EscapeDataString(Ledger.CameraId)}&format={format}{ExtraQuery}");
        var invoker = shared ?? (_invoker = Connector.CreateInvoker(options, ep => LocalEndPoint = ep));
        _ws = await Connector.ConnectAsync(uri, invoker, options, ct);
        await _ws.SendAsync(PlexusJson.BuildConsumerAuth(apiKey), WebSocketMessageType.Text, true, ct);
        var init = await Connector.ReceiveTextAsync(_ws, TimeSpan.FromSeconds(30), ct);
        if (init is null || !init.Contains("\"init\"", StringComparison.Ordinal))
            throw new InvalidOperationException($"consumer {Id}: no init: {init ?? $"closed {_ws.CloseStatus} {_ws.CloseStatusDescription}"}");
    }

    /// <summary>
    /// Connects to go2rtc's WebSocket API (<c>/api/ws?src=…</c>) and asks for MJPEG (<c>{"type":"mjpeg"}</c>): from then on
    /// every binary message is one bare JPEG, like Router's <c>format=jpeg</c>. Waits for go2rtc's first message.
    /// </summary>
    /// <exception cref="InvalidOperationException">Closed before the first message.</exception>
    public async Task ConnectGo2rtcAsync(Uri wsBase, string stream, ConnectOptions options, CancellationToken ct)
    {
        var uri = new Uri(wsBase, $"/api/ws?src={Uri.EscapeDataString(stream)}");
        var invoker = _invoker = Connector.CreateInvoker(options, ep => LocalEndPoint = ep);
        _ws = await Connector.ConnectAsync(uri, invoker, options, ct);
        await _ws.SendAsync("{\"type\":\"mjpeg\"}"u8.ToArray(), WebSocketMessageType.Text, true, ct);
        var first = await Connector.ReceiveTextAsync(_ws, TimeSpan.FromSeconds(30), ct);
        if (first is null) throw new InvalidOperationException($"consumer {Id}: go2rtc closed: {_ws.CloseStatus} {_ws.CloseStatusDescription}");
    }

    public void Start(CancellationToken ct) => Loop = Task.Run(() => ReceiveLoopAsync(ct), CancellationToken.None);

    /// <summary>Stops reading after the current message (the stall of the slow-consumer test).</summary>
    public void Pause() => Volatile.Write(ref _pauseGate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Resumes reading as fast as possible, logging every frame with its byte offset since the resume.</summary>
    public void ResumeAndRecord()
    {
        _resumeLog = new List<ResumeRecord>(256);
        _resumeBytes = 0;
        Volatile.Read(ref _pauseGate)?.TrySetResult();
    }

    public IReadOnlyList<ResumeRecord> ResumeLog => _resumeLog ?? [];

    private async Task ReceiveLoopAsync(CancellationToken ct)
    {
        var ws = _ws!;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var gate = Volatile.Read(ref _pauseGate);
                if (gate is not null)
                {
                    await gate.Task.WaitAsync(ct);
                    Volatile.Write(ref _pauseGate, null);
                }
                var len = 0;
                ValueWebSocketReceiveResult r;
                do
                {
                    if (len == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
                    r = await ws.ReceiveAsync(_buffer.AsMemory(len), ct);
                    len += r.Count;
                } while (!r.EndOfMessage);
                var now = Stopwatch.GetTimestamp();
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    Closed = $"{ws.CloseStatus} {ws.CloseStatusDescription}";
                    return;
                }
                OnMessage(_buffer.AsSpan(0, len), r.MessageType, now);
                if (IsSlow && _resumeLog is null) await Task.Delay(SlowInterval, ct);
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException)
        {
            Closed ??= e.Message;
        }
    }

    private void OnMessage(ReadOnlySpan<byte> message, WebSocketMessageType type, long now)
    {
        long ts = 0;
        bool ok = format switch
        {
            "json" => type == WebSocketMessageType.Text && PlexusJson.TryReadVideoFrameTimestamp(message, out ts),
            "jpeg" => type == WebSocketMessageType.Binary && message is [0xFF, 0xD8, ..],
            _ => BinaryFrameCodec.TryReadTimestamp(message, out ts),
        };
        if (!ok)
        {
            if (run.Measuring) Other++;
            return;
        }
        run.CheckOnce(format, message);
        AllFrames++;
        SentFrame sent;
        if (format == "jpeg"
                ? run.Frames?.IndexOf(message) is not { } index || index < 0 || !Ledger.TryGetByFrame(index, out sent)
                : !Ledger.TryGet(ts, out sent))
        {
            if (run.Measuring) Unknown++;
            return;
        }
        if (_resumeLog is not null)
        {
            // Server-to-client frame header: 2 bytes + 8 for payloads over 64 KiB (2 for ≤125, 4 for ≤65535).
            var wireBytes = message.Length + (message.Length > 65535 ? 10 : message.Length > 125 ? 4 : 2);
            _resumeLog.Add(new ResumeRecord(sent.Seq, _resumeBytes, wireBytes));
            _resumeBytes += wireBytes;
        }
        if (run.Measuring)
        {
            var micros = (now - sent.Ticks) * 1_000_000 / Stopwatch.Frequency;
            (IsSlow ? run.LatencySlow : run.LatencyFast).RecordValue(Math.Clamp(micros, 1, 120_000_000));
            Frames++;
            Bytes += message.Length;
            if (micros > run.LateMicros) Late++;
            if (_lastSeq > 0)
            {
                if (sent.Seq > _lastSeq + 1) Gaps += sent.Seq - _lastSeq - 1;
                else if (sent.Seq <= _lastSeq) OutOfOrder++;
            }
            StalenessSum += Math.Max(0, Ledger.NewestSeq - sent.Seq);
        }
        if (sent.Seq > _lastSeq) _lastSeq = sent.Seq;
    }

    public void Abort()
    {
        Connector.AbortQuietly(_ws);
        _invoker?.Dispose();
    }
}

/// <summary>A consumer that connects and then only waits (S5): one pending receive, counting what it gets.</summary>
internal sealed class IdleConsumer
{
    private ClientWebSocket? _ws;
    private readonly byte[] _buffer = new byte[512];

    public long Messages;

    public async Task ConnectAsync(Uri uri, string apiKey, HttpMessageInvoker invoker, ConnectOptions options, CancellationToken ct)
    {
        _ws = await Connector.ConnectAsync(uri, invoker, options, ct);
        await _ws.SendAsync(PlexusJson.BuildConsumerAuth(apiKey), WebSocketMessageType.Text, true, ct);
        var init = await Connector.ReceiveTextAsync(_ws, TimeSpan.FromSeconds(60), ct);
        if (init is null || !init.Contains("\"init\"", StringComparison.Ordinal))
            throw new InvalidOperationException($"idle consumer: no init: {init ?? "closed"}");
        _ = Task.Run(async () =>
        {
            try
            {
                while (_ws.State == WebSocketState.Open)
                {
                    var r = await _ws.ReceiveAsync(_buffer.AsMemory(), CancellationToken.None);
                    if (r.MessageType == WebSocketMessageType.Close) return;
                    if (r.EndOfMessage) Interlocked.Increment(ref Messages);
                }
            }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException) { }
        }, CancellationToken.None);
    }

    public void Abort() => Connector.AbortQuietly(_ws);
}
