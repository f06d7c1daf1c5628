using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace Router.Actors.Metrics;

/// <summary>
/// Per-tenant and per-process instruments of the frame path (meter <c>Router</c>, exported on <c>/metrics</c>). Tags are
/// bounded: <c>tenant</c> (tenants come from the configured keys) and, for conflation drops, <c>at</c>
/// (<c>camera</c> or <c>relay</c>); never a camera id. Each per-frame record is one <see cref="Counter{T}.Add(T, KeyValuePair{string, object?})"/>
/// with one or two tags passed on the stack (no allocation when nothing listens, none in the caller when something does).
/// </summary>
public static class TenantMetrics
{
    private static readonly Counter<long> IngestedFrames =
        RouterMeter.Meter.CreateCounter<long>("router.ingest.frames", "{frame}", "frames accepted by camera entities, by tenant");

    private static readonly Counter<long> IngestedBytes =
        RouterMeter.Meter.CreateCounter<long>("router.ingest.bytes", "By", "JPEG bytes of the accepted frames (after re-encoding), by tenant");

    // Frames sent are counted once per frame and consumer, the hottest count there is: a plain increment of the tenant's
    // running total (like ConnectionsByTenant below), read by an observable counter at each collection.
    // A Counter<T>.Add here cost ~3.5 % of a gateway's CPU at 50 consumers (prometheus-net's MeterAdapter sorts the tags
    // and looks up the labelled child on every measurement; docs/benchmarks.md, "Frames sent: an observable count").
    private static readonly ConcurrentDictionary<string, StrongBox<long>> SentByTenant = new(StringComparer.Ordinal);

    private static readonly ObservableCounter<long> SentFrames =
        RouterMeter.Meter.CreateObservableCounter("router.consumer.frames_sent",
            () => SentByTenant.Select(p => new Measurement<long>(Interlocked.Read(ref p.Value.Value), new KeyValuePair<string, object?>("tenant", p.Key))),
            "{frame}", "frames sent on consumer WebSockets, by tenant");

    private static readonly Counter<long> ConflatedFrames =
        RouterMeter.Meter.CreateCounter<long>("router.fanout.frames_conflated", "{frame}",
            "frames replaced by a newer one before their subscriber could take them (conflation), by tenant and fan-out (camera: a relay was slow; relay: a consumer was slow)");

    // Levels are observable gauges read at each scrape (an exporter never sees them idle); the counts live here.
    private static readonly ConcurrentDictionary<string, StrongBox<long>> ConnectionsByTenant = new(StringComparer.Ordinal);
    private static long _cameraEntities;
    private static long _relays;

    private static readonly ObservableGauge<long> ConsumerConnections =
        RouterMeter.Meter.CreateObservableGauge("router.consumer.connections",
            () => ConnectionsByTenant.Select(p => new Measurement<long>(Interlocked.Read(ref p.Value.Value), new KeyValuePair<string, object?>("tenant", p.Key))),
            "{connection}", "open consumer WebSockets (authenticated and admitted), by tenant");

    private static readonly Counter<long> AuthFailures =
        RouterMeter.Meter.CreateCounter<long>("router.auth.failures", "{attempt}", "failed authentications (unknown key, missing scope, no auth in time)");

    private static readonly ObservableGauge<long> CameraEntities =
        RouterMeter.Meter.CreateObservableGauge("router.camera.entities", () => Interlocked.Read(ref _cameraEntities), "{entity}", "camera entities running in this process");

    private static readonly ObservableGauge<long> Relays =
        RouterMeter.Meter.CreateObservableGauge("router.relay.relays", () => Interlocked.Read(ref _relays), "{relay}", "camera relays running in this process");

    private static KeyValuePair<string, object?> Tenant(string tenant) => new("tenant", tenant);

    /// <summary>Counts one accepted frame of <paramref name="bytes"/> JPEG bytes.</summary>
    public static void FrameIngested(string tenant, int bytes)
    {
        var tag = Tenant(tenant);
        IngestedFrames.Add(1, tag);
        IngestedBytes.Add(bytes, tag);
    }

    /// <summary>Counts one frame sent on a consumer WebSocket of <paramref name="tenant"/> (a lookup of the tenant's
    /// running total and an <see cref="Interlocked.Increment(ref long)"/>; tenants are bounded by the configured keys).</summary>
    public static void FrameSent(string tenant) =>
        Interlocked.Increment(ref SentByTenant.GetOrAdd(tenant, static _ => new StrongBox<long>()).Value);

    /// <summary>Counts <paramref name="count"/> frames replaced before their subscribers took them; <paramref name="at"/> is <c>camera</c> or <c>relay</c>.</summary>
    public static void FramesConflated(string tenant, string at, int count) =>
        ConflatedFrames.Add(count, Tenant(tenant), new KeyValuePair<string, object?>("at", at));

    /// <summary>A consumer WebSocket of <paramref name="tenant"/> opened (+1) or closed (-1).</summary>
    public static void ConsumerConnection(string tenant, int delta) =>
        Interlocked.Add(ref ConnectionsByTenant.GetOrAdd(tenant, static _ => new StrongBox<long>()).Value, delta);

    /// <summary>Counts one failed authentication.</summary>
    public static void AuthFailure() => AuthFailures.Add(1);

    /// <summary>A camera entity started (+1) or stopped (-1).</summary>
    public static void CameraEntity(int delta) => Interlocked.Add(ref _cameraEntities, delta);

    /// <summary>A camera relay started (+1) or stopped (-1).</summary>
    public static void Relay(int delta) => Interlocked.Add(ref _relays, delta);
}
