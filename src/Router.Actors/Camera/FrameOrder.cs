namespace Router.Actors.Camera;

/// <summary>
/// The timestamp-order rule of one camera's frames, and the state it needs (the last frame passed on): a frame older
/// than the last one is refused, unless the last one was passed on at least <c>maxAge</c> ago by the wall clock. The
/// exception lets a camera recover from a device clock reset: after a short gap its frames flow again, instead of being
/// refused until the new timestamps pass the old ones. Equal timestamps are in order (a re-subscription's first frame
/// may repeat the last one).
/// </summary>
/// <remarks>
/// One instance per stream, in each place where that stream's frames can arrive out of order:
/// <list type="bullet">
/// <item>the camera entity (<see cref="CameraActor"/>): a camera's frames come from independent senders at once
/// (concurrent HTTP ingest requests, a device that reconnected through another gateway while its old connection still
/// had frames in flight); the entity refuses a late one with a <c>stale</c> answer to its sender;</item>
/// <item>the gateway's relay (<see cref="Gateway.CameraRelayActor"/>): its upstream changes when it re-subscribes (a
/// stalled or ended subscription, a camera entity started again on another node after a hand-over or a crash, with the
/// state of its device's newest frames), and the new upstream's first frame can be older than frames the old one
/// delivered;</item>
/// <item>the consumer's subscription on the gateway (the consumer actor): it outlives relays (a relay stops when its
/// last subscriber leaves and a re-subscription may meet a new one, whose first frame is its camera's latest), so only
/// it sees the order across relay incarnations.</item>
/// </list>
/// Not the fan-out between these: a single actor's frames to one receiver stay in order.
/// </remarks>
internal sealed class FrameOrder(TimeSpan maxAge)
{
    /// <summary>Timestamp of the last frame passed on (Unix epoch ms), or null when there was none.</summary>
    public long? LastTimestampMs { get; private set; }

    /// <summary><see cref="Environment.TickCount64"/> (or the caller's clock, ms) when the last frame was passed on.</summary>
    public long LastPassedTicks { get; private set; }

    /// <summary>True when a frame stamped <paramref name="timestampMs"/> may follow the last one passed on.</summary>
    /// <param name="timestampMs">Timestamp of the new frame (Unix epoch ms).</param>
    /// <param name="nowTicks">Now, in the clock of <see cref="LastPassedTicks"/> (ms).</param>
    public bool Accepts(long timestampMs, long nowTicks) => Accepts(LastTimestampMs, LastPassedTicks, timestampMs, nowTicks, maxAge);

    /// <summary>Records that a frame stamped <paramref name="timestampMs"/> was passed on at <paramref name="nowTicks"/>.</summary>
    public void Passed(long timestampMs, long nowTicks)
    {
        LastTimestampMs = timestampMs;
        LastPassedTicks = nowTicks;
    }

    /// <summary><see cref="Accepts(long, long)"/>, and when true <see cref="Passed"/>: the frame is passed on.</summary>
    public bool TryPass(long timestampMs, long nowTicks)
    {
        if (!Accepts(timestampMs, nowTicks)) return false;
        Passed(timestampMs, nowTicks);
        return true;
    }

    /// <summary>The rule itself: true when a frame stamped <paramref name="timestampMs"/> may follow the last one.</summary>
    /// <param name="lastTimestampMs">Timestamp of the last frame passed on (Unix epoch ms), or null when there was none.</param>
    /// <param name="lastPassedTicks"><see cref="Environment.TickCount64"/> when the last frame was passed on.</param>
    /// <param name="timestampMs">Timestamp of the new frame (Unix epoch ms).</param>
    /// <param name="nowTicks">Now, as <see cref="Environment.TickCount64"/>.</param>
    /// <param name="maxAge">Once the last frame is this old, an older timestamp is accepted again
    /// (<c>Router:Camera:LatestFrameMaxAge</c>, 5 s by default).</param>
    public static bool Accepts(long? lastTimestampMs, long lastPassedTicks, long timestampMs, long nowTicks, TimeSpan maxAge) =>
        lastTimestampMs is not { } last || timestampMs >= last || nowTicks - lastPassedTicks >= maxAge.TotalMilliseconds;
}
