using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Router.Gateway.Admission;

/// <summary>
/// Consumer limits per tenant on this gateway: open connections (a concurrency limit held for the connection's life),
/// new connections per second and new subscriptions per second (token buckets). Partitions are tenants, which come from
/// the configured keys, so their number is bounded.
/// </summary>
internal sealed class ConsumerAdmission : IDisposable
{
    private readonly GatewayLimits _limits;
    private readonly PartitionedRateLimiter<string> _open;
    private readonly PartitionedRateLimiter<string> _connects;
    private readonly PartitionedRateLimiter<string> _subscriptions;

    public ConsumerAdmission(IOptions<GatewayOptions> options)
    {
        _limits = options.Value.Limits;
        var limits = _limits;
        _open = LazyPartitionedRateLimiter<string>.ConcurrencyLimiters(_ =>
            new ConcurrencyLimiterOptions { PermitLimit = Math.Max(1, limits.MaxConsumerConnectionsPerTenant), QueueLimit = 0 }, StringComparer.Ordinal);
        _connects = LazyPartitionedRateLimiter<string>.TokenBuckets(_ =>
            Bucket(limits.ConsumerConnectsPerSecondPerTenant, limits.ConsumerConnectBurstPerTenant), StringComparer.Ordinal);
        _subscriptions = LazyPartitionedRateLimiter<string>.TokenBuckets(_ =>
            Bucket(limits.SubscriptionsPerSecondPerTenant, limits.SubscriptionBurstPerTenant), StringComparer.Ordinal);
    }

    private static TokenBucketRateLimiterOptions Bucket(int perSecond, int burst) => IngestAdmission.PerSecond(perSecond, burst);

    /// <summary>
    /// Admits a new connection of <paramref name="tenant"/> that starts <paramref name="subscriptions"/> subscriptions.
    /// Returns the connection's lease (dispose it when the connection ends), or null and the close
    /// <paramref name="reason"/> (for code 1013) when a limit refuses it.
    /// </summary>
    public IDisposable? Admit(string tenant, int subscriptions, out string? reason)
    {
        var open = _open.AttemptAcquire(tenant);
        if (!open.IsAcquired)
        {
            open.Dispose();
            AdmissionMetrics.Refused(Limits.ConsumerConnections, tenant);
            reason = $"too many consumer connections of this tenant (limit {_limits.MaxConsumerConnectionsPerTenant})";
            return null;
        }
        using (var connect = _connects.AttemptAcquire(tenant))
        {
            if (!connect.IsAcquired)
            {
                open.Dispose();
                AdmissionMetrics.Refused(Limits.ConsumerConnects, tenant);
                reason = $"too many new consumer connections of this tenant; retry after {RetryAfterSeconds(connect)} s";
                return null;
            }
        }
        var cost = Math.Clamp(subscriptions, 1, Math.Max(_limits.SubscriptionsPerSecondPerTenant, _limits.SubscriptionBurstPerTenant));
        using (var subscribe = _subscriptions.AttemptAcquire(tenant, cost))
        {
            if (!subscribe.IsAcquired)
            {
                open.Dispose();
                AdmissionMetrics.Refused(Limits.Subscriptions, tenant);
                reason = $"too many new subscriptions of this tenant; retry after {RetryAfterSeconds(subscribe)} s";
                return null;
            }
        }
        reason = null;
        return open;
    }

    private static int RetryAfterSeconds(RateLimitLease lease) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 1;

    public void Dispose()
    {
        _open.Dispose();
        _connects.Dispose();
        _subscriptions.Dispose();
    }
}
