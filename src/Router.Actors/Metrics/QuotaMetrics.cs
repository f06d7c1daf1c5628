using System.Diagnostics.Metrics;

namespace Router.Actors.Metrics;

/// <summary>
/// Quota refusals on the shared <see cref="RouterMeter.Meter"/>: <c>router.quota.refused</c> (consumer connections,
/// frames of cameras beyond the online-camera quota, frames over the ingest byte rate; tags <c>tenant</c> and
/// <c>quota</c>, one of <c>online_cameras</c>, <c>consumer_connections</c>, <c>ingest_bytes_per_second</c>). Exported
/// on <c>/metrics</c> as <c>router_quota_refused_total</c> by the process that refused: gateways for connections and
/// bytes, nodes (where the camera entities run) for cameras.
/// </summary>
public static class QuotaMetrics
{
    private static readonly Counter<long> RefusedCounter =
        RouterMeter.Meter.CreateCounter<long>("router.quota.refused", "{refusal}", "consumer connections and frames refused by a tenant quota, by tenant and quota");

    /// <summary>Counts one refusal of <paramref name="tenant"/> by <paramref name="quota"/> (a <c>QuotaNames.Of</c> name).</summary>
    public static void Refused(string tenant, string quota) =>
        RefusedCounter.Add(1, new KeyValuePair<string, object?>("tenant", tenant), new KeyValuePair<string, object?>("quota", quota));
}
