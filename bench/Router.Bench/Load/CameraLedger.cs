using System.Collections.Concurrent;

namespace Router.Bench.Load;

/// <summary>When and as which sequence number the device sent the frame with a given timestamp.</summary>
internal readonly record struct SentFrame(long Seq, long Ticks);

/// <summary>
/// The load generator's record of one camera's sent frames, keyed by the device timestamp (Unix ms, strictly increasing
/// per camera). Consumers look up each received frame here: its sequence number gives the gaps (frames conflated away
/// by the server), and the Stopwatch ticks taken just before the send give the latency at microsecond resolution
/// (the device and the consumers are in the same process, so they share the clock).
/// </summary>
internal sealed class CameraLedger(string sourceId, string cameraId)
{
    private readonly ConcurrentDictionary<long, SentFrame> _sent = new();
    private readonly ConcurrentDictionary<int, SentFrame> _byFrame = new();
    private long _lastTimestamp;
    private long _seq;
    private long _newestSeq;

    public string SourceId { get; } = sourceId;

    public string CameraId { get; } = cameraId;

    /// <summary>Sequence number of the newest frame handed to the socket.</summary>
    public long NewestSeq => Volatile.Read(ref _newestSeq);

    /// <summary>Next (timestamp, sequence) for the device; single writer.</summary>
    public (long TimestampMs, long Seq) Next()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (now <= _lastTimestamp) now = _lastTimestamp + 1;
        _lastTimestamp = now;
        return (now, ++_seq);
    }

    public void Record(long timestampMs, long seq, long ticks, int frameIndex = -1)
    {
        _sent[timestampMs] = new SentFrame(seq, ticks);
        if (frameIndex >= 0) _byFrame[frameIndex] = new SentFrame(seq, ticks);
        Volatile.Write(ref _newestSeq, seq);
    }

    public bool TryGet(long timestampMs, out SentFrame frame) => _sent.TryGetValue(timestampMs, out frame);

    /// <summary>
    /// The newest send of the frame with index <paramref name="frameIndex"/> in the frame set (for bare JPEG, which carries
    /// no timestamp: the clip loops every few tens of seconds, far longer than any frame is in flight).
    /// </summary>
    public bool TryGetByFrame(int frameIndex, out SentFrame frame) => _byFrame.TryGetValue(frameIndex, out frame);
}
