using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Router.Actors.Metrics;

/// <summary>Frames and bytes one camera sent over remoting from this process.</summary>
/// <param name="EntityId">The camera, <c>{tenant}/{source_id}/{camera_id}</c>.</param>
/// <param name="Frames">Frames sent to subscribers on other cluster members.</param>
/// <param name="Bytes">JPEG payload bytes of those frames.</param>
public sealed record RemoteTrafficSnapshot(string EntityId, long Frames, long Bytes);

/// <summary>
/// Counters of frames and bytes that camera streams send over remoting, per camera. Published as the
/// System.Diagnostics.Metrics instruments <c>router.remote.frames</c> and <c>router.remote.bytes</c> (meter
/// <c>Router</c>, tag <c>camera</c>) for OpenTelemetry/dotnet-counters, and readable as a snapshot
/// (<c>GET /metrics/remote</c>).
/// </summary>
public static class RemoteTraffic
{
    private static readonly Meter Meter = RouterMeter.Meter;
    private static readonly Counter<long> FramesCounter = Meter.CreateCounter<long>("router.remote.frames", "{frame}", "frames sent over remoting");
    private static readonly Counter<long> BytesCounter = Meter.CreateCounter<long>("router.remote.bytes", "By", "JPEG bytes sent over remoting");
    private static readonly ConcurrentDictionary<string, Totals> ByCamera = new();

    /// <summary>Records one frame of <paramref name="bytes"/> sent to a remote subscriber.</summary>
    public static void Record(string entityId, int bytes)
    {
        var totals = ByCamera.GetOrAdd(entityId, _ => new Totals());
        Interlocked.Increment(ref totals.Frames);
        Interlocked.Add(ref totals.Bytes, bytes);
        var tag = new KeyValuePair<string, object?>("camera", entityId);
        FramesCounter.Add(1, tag);
        BytesCounter.Add(bytes, tag);
    }

    /// <summary>The totals so far, per camera.</summary>
    public static IReadOnlyList<RemoteTrafficSnapshot> Snapshot() =>
        ByCamera.Select(p => new RemoteTrafficSnapshot(p.Key, Interlocked.Read(ref p.Value.Frames), Interlocked.Read(ref p.Value.Bytes)))
            .OrderBy(s => s.EntityId, StringComparer.Ordinal).ToList();

    /// <summary>Totals of one camera (zero when it sent nothing remote).</summary>
    public static RemoteTrafficSnapshot For(string entityId) =>
        ByCamera.TryGetValue(entityId, out var t) ? new RemoteTrafficSnapshot(entityId, Interlocked.Read(ref t.Frames), Interlocked.Read(ref t.Bytes))
            : new RemoteTrafficSnapshot(entityId, 0, 0);

    private sealed class Totals
    {
        public long Frames;
        public long Bytes;
    }
}
