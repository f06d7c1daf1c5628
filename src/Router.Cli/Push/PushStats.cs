namespace Router.Cli.Push;

/// <summary>Counters of one push run, updated from the reader thread, the send loop and the receive loop.</summary>
internal sealed class PushStats
{
    private long captured;
    private long sent;
    private long dropped;
    private long rejected;
    private long bytes;
    private long connections;
    private long lastSent;
    private volatile Uri? currentUrl;

    /// <summary>Frames read from the input.</summary>
    public long Captured => Interlocked.Read(ref captured);

    /// <summary>Frames sent.</summary>
    public long Sent => Interlocked.Read(ref sent);

    /// <summary>Frames read but never sent (sending was slower than the frame interval, or the connection was down).</summary>
    public long Dropped => Interlocked.Read(ref dropped);

    /// <summary>Server <c>{"type":"error"}</c> replies after authentication.</summary>
    public long Rejected => Interlocked.Read(ref rejected);

    /// <summary>Payload bytes sent (whole messages).</summary>
    public long Bytes => Interlocked.Read(ref bytes);

    /// <summary>Authenticated connections so far (reconnects = this − 1).</summary>
    public long Connections => Interlocked.Read(ref connections);

    /// <summary>URL in use (or being tried).</summary>
    public Uri? CurrentUrl { get => currentUrl; set => currentUrl = value; }

    /// <summary>Counts a frame read from the input.</summary>
    public void OnCaptured() => Interlocked.Increment(ref captured);

    /// <summary>Counts a sent frame message of <paramref name="messageBytes"/> bytes; returns the new sent count.</summary>
    public long OnSent(int messageBytes)
    {
        Interlocked.Add(ref bytes, messageBytes);
        return Interlocked.Increment(ref sent);
    }

    /// <summary>Counts a frame that was skipped.</summary>
    public void OnDropped() => Interlocked.Increment(ref dropped);

    /// <summary>Counts a server error reply.</summary>
    public void OnRejected() => Interlocked.Increment(ref rejected);

    /// <summary>Counts an authenticated connection.</summary>
    public void OnConnected() => Interlocked.Increment(ref connections);

    /// <summary>The once-per-second progress line; <paramref name="elapsed"/> is the time since the previous line.</summary>
    public string ProgressLine(TimeSpan elapsed)
    {
        var total = Sent;
        var delta = total - Interlocked.Exchange(ref lastSent, total);
        var fps = elapsed > TimeSpan.Zero ? delta / elapsed.TotalSeconds : 0;
        return $"push: sent {total}  {Units.One(fps)} fps  dropped {Dropped}  rejected {Rejected}  {Units.Bytes(Bytes)}  {CurrentUrl?.ToString() ?? "-"}";
    }

    /// <summary>The final summary line (stdout).</summary>
    public string SummaryLine(TimeSpan elapsed)
    {
        var seconds = Math.Max(elapsed.TotalSeconds, 0.001);
        return $"push summary: sent {Sent} frames in {Units.One(elapsed.TotalSeconds)} s ({Units.One(Sent / seconds)} fps), " +
               $"dropped {Dropped}, rejected {Rejected}, {Units.Bytes(Bytes)}, connections {Connections}";
    }
}
