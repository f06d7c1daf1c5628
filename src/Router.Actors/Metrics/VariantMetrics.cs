using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace Router.Actors.Metrics;

/// <summary>
/// Instruments of the consumers' picture variants (meter <c>Router</c>), all tagged <c>tenant</c>:
/// <c>router.variant.encodes</c> (variant frames encoded, one per frame and variant and gateway however many consumers
/// share it), <c>router.variant.dropped</c> (source frames a variant skipped because its encoder was busy, newest wins),
/// <c>router.variant.failures</c> (frames that could not be decoded), <c>router.variant.substituted</c> (subscriptions given
/// the nearest existing variant because the camera had its maximum), <c>router.variant.active</c> (live variants).
/// </summary>
internal static class VariantMetrics
{
    private static readonly Counter<long> Encodes =
        RouterMeter.Meter.CreateCounter<long>("router.variant.encodes", "{frame}", "variant frames encoded, by tenant");

    private static readonly Counter<long> Dropped =
        RouterMeter.Meter.CreateCounter<long>("router.variant.dropped", "{frame}", "frames a variant skipped while its encoder was busy, by tenant");

    private static readonly Counter<long> Failures =
        RouterMeter.Meter.CreateCounter<long>("router.variant.failures", "{frame}", "frames a variant could not decode, by tenant");

    private static readonly Counter<long> Substituted =
        RouterMeter.Meter.CreateCounter<long>("router.variant.substituted", "{subscription}", "subscriptions given the nearest existing variant, by tenant");

    // A level: an observable gauge read at each scrape, as the other levels (TenantMetrics); the counts live here.
    private static readonly ConcurrentDictionary<string, StrongBox<long>> ActiveByTenant = new(StringComparer.Ordinal);

    private static readonly ObservableGauge<long> Active =
        RouterMeter.Meter.CreateObservableGauge("router.variant.active",
            () => ActiveByTenant.Select(p => new Measurement<long>(Interlocked.Read(ref p.Value.Value), new KeyValuePair<string, object?>("tenant", p.Key))),
            "{variant}", "live variants, by tenant");

    private static KeyValuePair<string, object?> Tenant(string tenant) => new("tenant", tenant);

    public static void Encoded(string tenant) => Encodes.Add(1, Tenant(tenant));

    public static void DroppedFrame(string tenant) => Dropped.Add(1, Tenant(tenant));

    public static void Failed(string tenant) => Failures.Add(1, Tenant(tenant));

    public static void SubstitutedVariant(string tenant) => Substituted.Add(1, Tenant(tenant));

    public static void Variant(string tenant, int delta) =>
        Interlocked.Add(ref ActiveByTenant.GetOrAdd(tenant, _ => new StrongBox<long>()).Value, delta);
}
