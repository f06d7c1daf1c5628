using System.Diagnostics.Metrics;
using Router.Actors.Quotas;

namespace Router.Actors.Metrics;

/// <summary>
/// Quota refusals on the shared <see cref="RouterMeter.Meter"/>: <c>router.quota.refused</c> (consumer connections,
/// frames of cameras beyond the online-camera quota, frames over the ingest byte rate; tags <c>tenant</c> and
/// <c>quota</c>, one of <c>online_cameras</c>, <c>consumer_connections</c>, <c>ingest_bytes_per_second</c>). Exported
/// on <c>/metrics</c> as <c>router_quota_refused_total</c> by the process that refused: gateways for connections and
/// bytes, nodes (where the camera entities run) for cameras. And <c>router.quota.usage</c> (gauge, tags <c>tenant</c>
/// and <c>quota</c>): each quota's usage over the cluster as this process sees it (its own exact, the others' last
/// known), for tenants with that quota set; <c>ingest_bytes_per_second</c> in bytes/s.
/// </summary>
public static class QuotaMetrics
{
    private static readonly Counter<long> RefusedCounter =
        RouterMeter.Meter.CreateCounter<long>("router.quota.refused", "{refusal}", "consumer connections and frames refused by a tenant quota, by tenant and quota");

    private static readonly List<WeakReference<TenantQuotas>> Tracked = [];

    private static readonly ObservableGauge<long> UsageGauge =
        RouterMeter.Meter.CreateObservableGauge("router.quota.usage", ObserveUsage, "{unit}",
            "usage of each set tenant quota over the cluster as this process sees it (connections, cameras, bytes/s), by tenant and quota");

    /// <summary>Reports <paramref name="quotas"/>' usage in <c>router.quota.usage</c> while it lives.</summary>
    internal static void Track(TenantQuotas quotas)
    {
        lock (Tracked)
        {
            Tracked.RemoveAll(w => !w.TryGetTarget(out _));
            Tracked.Add(new WeakReference<TenantQuotas>(quotas));
        }
    }

    private static IEnumerable<Measurement<long>> ObserveUsage()
    {
        List<TenantQuotas> live;
        lock (Tracked) live = Tracked.Select(w => w.TryGetTarget(out var q) ? q : null).OfType<TenantQuotas>().ToList();
        return live.SelectMany(q => q.Usage()).Select(u => new Measurement<long>(u.Value,
            new KeyValuePair<string, object?>("tenant", u.Tenant), new KeyValuePair<string, object?>("quota", QuotaNames.Of(u.Quota)))).ToList();
    }

    /// <summary>Counts one refusal of <paramref name="tenant"/> by <paramref name="quota"/> (a <c>QuotaNames.Of</c> name).</summary>
    public static void Refused(string tenant, string quota) =>
        RefusedCounter.Add(1, new KeyValuePair<string, object?>("tenant", tenant), new KeyValuePair<string, object?>("quota", quota));
}
