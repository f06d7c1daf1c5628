using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Router.Actors.Metrics;

/// <summary>Frames and bytes one tenant's cameras sent over remoting from this process.</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Frames">Frames sent to subscribers on other cluster members.</param>
/// <param name="Bytes">JPEG payload bytes of those frames.</param>
public sealed record RemoteTrafficSnapshot(string Tenant, long Frames, long Bytes);

/// <summary>
/// Counters of frames and bytes that camera streams send over remoting, per tenant: the System.Diagnostics.Metrics
/// instruments <c>router.remote.frames</c> and <c>router.remote.bytes</c> (meter <c>Router</c>, tag <c>tenant</c>),
/// exported on <c>/metrics</c> as <c>router_router_remote_frames</c> and <c>router_router_remote_bytes</c>.
/// </summary>
public static class RemoteTraffic
{
    private static readonly Meter Meter = RouterMeter.Meter;
    private static readonly Counter<long> FramesCounter = Meter.CreateCounter<long>("router.remote.frames", "{frame}", "frames sent over remoting, by tenant");
    private static readonly Counter<long> BytesCounter = Meter.CreateCounter<long>("router.remote.bytes", "By", "JPEG bytes sent over remoting, by tenant");
    private static readonly ConcurrentDictionary<string, Totals> ByTenant = new(StringComparer.Ordinal);

    /// <summary>Records one frame of <paramref name="bytes"/> of <paramref name="tenant"/> sent to a remote subscriber.</summary>
    public static void Record(string tenant, int bytes)
    {
        var totals = ByTenant.GetOrAdd(tenant, static _ => new Totals());
        Interlocked.Increment(ref totals.Frames);
        Interlocked.Add(ref totals.Bytes, bytes);
        var tag = new KeyValuePair<string, object?>("tenant", tenant);
        FramesCounter.Add(1, tag);
        BytesCounter.Add(bytes, tag);
    }

    /// <summary>Totals of one tenant in this process (zero when it sent nothing remote).</summary>
    public static RemoteTrafficSnapshot For(string tenant) =>
        ByTenant.TryGetValue(tenant, out var t) ? new RemoteTrafficSnapshot(tenant, Interlocked.Read(ref t.Frames), Interlocked.Read(ref t.Bytes))
            : new RemoteTrafficSnapshot(tenant, 0, 0);

    private sealed class Totals
    {
        public long Frames;
        public long Bytes;
    }
}
