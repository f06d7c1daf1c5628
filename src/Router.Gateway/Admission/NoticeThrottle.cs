namespace Router.Gateway.Admission;

/// <summary>
/// Counts events of one kind (dropped or refused device messages) and says when to report them: the first at once,
/// then at most once per <c>intervalMs</c>, with the number counted since the last report. Not thread-safe (one
/// receive loop owns it).
/// </summary>
internal sealed class NoticeThrottle(long intervalMs)
{
    private long _pending;
    private long _nextMs = long.MinValue;

    /// <summary>Counts <paramref name="count"/> events.</summary>
    public void Add(long count = 1) => _pending += count;

    /// <summary>True when the events counted so far are due to be reported; <paramref name="count"/> is their number (then reset).</summary>
    public bool TryTake(long nowMs, out long count)
    {
        count = 0;
        if (_pending == 0 || nowMs < _nextMs) return false;
        count = _pending;
        _pending = 0;
        _nextMs = nowMs + intervalMs;
        return true;
    }
}
