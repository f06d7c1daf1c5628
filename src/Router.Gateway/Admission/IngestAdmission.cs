using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Router.Actors.Admission;
using Router.Gateway.Security;

namespace Router.Gateway.Admission;

/// <summary>
/// HTTP ingest limits per API key: requests per second and body bytes per second (token buckets, a second's worth of
/// burst) and request bodies held at once (a concurrency limit, no queue). Partitions are the configured keys
/// (<see cref="ApiKeyIdentity"/> instances), so their number is bounded by the configuration.
/// </summary>
internal sealed class IngestAdmission : IDisposable
{
    private readonly PartitionedRateLimiter<ApiKeyIdentity> _requests;
    private readonly PartitionedRateLimiter<ApiKeyIdentity> _bytes;
    private readonly PartitionedRateLimiter<ApiKeyIdentity> _held;

    public IngestAdmission(IOptions<GatewayOptions> options)
    {
        var limits = options.Value.Limits;
        var keys = ReferenceEqualityComparer.Instance;
        _requests = LazyPartitionedRateLimiter<ApiKeyIdentity>.TokenBuckets(_ => PerSecond(limits.IngestRequestsPerSecondPerKey), keys);
        _bytes = LazyPartitionedRateLimiter<ApiKeyIdentity>.TokenBuckets(_ => PerSecond(limits.IngestBytesPerSecondPerKey), keys);
        _held = LazyPartitionedRateLimiter<ApiKeyIdentity>.ConcurrencyLimiters(_ => new ConcurrencyLimiterOptions
        {
            PermitLimit = Math.Max(1, limits.MaxHeldBodiesPerKey),
            QueueLimit = 0,
        }, keys);
    }

    /// <summary>
    /// The gateway's limits as token buckets (<see cref="TokenBuckets.PerSecond"/>, refilled on use: call
    /// <see cref="ReplenishingRateLimiter.TryReplenish"/> before acquiring, as <see cref="LazyPartitionedRateLimiter{TKey}"/>
    /// does): <paramref name="perSecond"/> tokens a second (at least 1), holding <paramref name="burst"/> tokens but at
    /// least a second's worth.
    /// </summary>
    internal static TokenBucketRateLimiterOptions PerSecond(int perSecond, int burst = 0)
    {
        perSecond = Math.Max(1, perSecond);
        return TokenBuckets.PerSecond(perSecond, Math.Max(perSecond, burst));
    }

    /// <summary>One request of <paramref name="key"/>; a failed lease means 429.</summary>
    public RateLimitLease AcquireRequest(ApiKeyIdentity key) => _requests.AttemptAcquire(key);

    /// <summary><paramref name="bytes"/> body bytes of <paramref name="key"/> (capped at the bucket size); a failed lease means 429.</summary>
    public RateLimitLease AcquireBytes(ApiKeyIdentity key, long bytes, int bucketBytes) =>
        _bytes.AttemptAcquire(key, (int)Math.Clamp(bytes, 0, Math.Max(1, bucketBytes)));

    /// <summary>A held body of <paramref name="key"/>, to dispose when the request is answered; a failed lease means 429.</summary>
    public RateLimitLease AcquireHeldBody(ApiKeyIdentity key) => _held.AttemptAcquire(key);

    public void Dispose()
    {
        _requests.Dispose();
        _bytes.Dispose();
        _held.Dispose();
    }
}
