namespace Router.Actors.Camera;

/// <summary>
/// The timestamp-order rule of a camera's frames, applied wherever frames are passed on (the camera entity on ingest,
/// a consumer's subscription on the gateway): a frame older than the last one is refused, unless the last one was
/// passed on at least <c>maxAge</c> ago by the wall clock. The exception lets a camera recover from a device clock
/// reset: after a short gap its frames flow again, instead of being refused until the new timestamps pass the old
/// ones. Equal timestamps are in order. (The gateway's <see cref="Gateway.CameraRelayActor"/> applies the same rule to
/// the frames it relays, inline.)
/// </summary>
internal static class FrameOrder
{
    /// <summary>True when a frame stamped <paramref name="timestampMs"/> may follow the last one.</summary>
    /// <param name="lastTimestampMs">Timestamp of the last frame passed on (Unix epoch ms), or null when there was none.</param>
    /// <param name="lastPassedTicks"><see cref="Environment.TickCount64"/> when the last frame was passed on.</param>
    /// <param name="timestampMs">Timestamp of the new frame (Unix epoch ms).</param>
    /// <param name="nowTicks">Now, as <see cref="Environment.TickCount64"/>.</param>
    /// <param name="maxAge">Once the last frame is this old, an older timestamp is accepted again
    /// (<c>Router:Camera:LatestFrameMaxAge</c>, 5 s by default).</param>
    public static bool Accepts(long? lastTimestampMs, long lastPassedTicks, long timestampMs, long nowTicks, TimeSpan maxAge) =>
        lastTimestampMs is not { } last || timestampMs >= last || nowTicks - lastPassedTicks >= maxAge.TotalMilliseconds;
}
