using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.RateLimiting;

namespace Router.Gateway.Admission;

/// <summary>
/// A <see cref="PartitionedRateLimiter{TResource}"/> without a timer: one limiter of System.Threading.RateLimiting per
/// key (<see cref="TokenBucketRateLimiter"/>s refilled on use, <see cref="ConcurrencyLimiter"/>s), created on first
/// use. <see cref="PartitionedRateLimiter.Create{TResource,TPartitionKey}"/> runs a 100 ms heartbeat per limiter for
/// its whole life, to refill buckets and drop idle partitions: the gateway's eight partitioned limiters woke the
/// runtime's timer thread and a thread-pool worker ~80 times a second from the first device or consumer on, at rest
/// too (issue 11). Here a token bucket is refilled from the time elapsed when it is used (the library's own manual
/// mode, <see cref="ReplenishingRateLimiter.TryReplenish"/>: same rate, continuous instead of in steps), and
/// token buckets full again for <see cref="IdleAfter"/> are dropped by a sweep that runs on use (any acquire or
/// statistics read), at most every <see cref="IdleAfter"/>.
/// </summary>
/// <remarks>
/// Token buckets may have keys from outside (client addresses): their number is bounded as with the library's limiter,
/// by the keys used within about <see cref="IdleAfter"/>. A dropped bucket is not disposed (it holds no timer and no
/// waiters): a caller that got it just before the sweep still takes its tokens from it, a full bucket like the new one
/// the next caller gets, so at worst one extra burst in a race of microseconds. Concurrency limiters are never dropped:
/// a lease taken from a dropped one would not count against its successor and the limit would no longer hold; their
/// keys must come from the configuration (tenants, API keys), which bounds their number.
/// </remarks>
internal sealed class LazyPartitionedRateLimiter<TKey> : PartitionedRateLimiter<TKey> where TKey : notnull
{
    /// <summary>How long a partition stays after it became idle (bucket full again, no lease held): 10 s, as the library's.</summary>
    public static readonly TimeSpan IdleAfter = TimeSpan.FromSeconds(10);

    private readonly Func<TKey, RateLimiter> _create;
    private readonly bool _dropIdle;
    private readonly ConcurrentDictionary<TKey, RateLimiter> _partitions;
    private long _nextSweep;

    private LazyPartitionedRateLimiter(Func<TKey, RateLimiter> create, bool dropIdle, IEqualityComparer<TKey>? comparer)
    {
        _create = create;
        _dropIdle = dropIdle;
        _partitions = new ConcurrentDictionary<TKey, RateLimiter>(comparer);
        _nextSweep = Stopwatch.GetTimestamp() + (long)(IdleAfter.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>A token bucket per key with the <paramref name="options"/> of its key (their <c>AutoReplenishment</c> is ignored: refilled on use).</summary>
    public static LazyPartitionedRateLimiter<TKey> TokenBuckets(Func<TKey, TokenBucketRateLimiterOptions> options, IEqualityComparer<TKey>? comparer = null) =>
        new(key => new TokenBucketRateLimiter(Router.Actors.Admission.TokenBuckets.RefilledOnUse(options(key))), dropIdle: true, comparer);

    /// <summary>A concurrency limiter per key with the <paramref name="options"/> of its key, kept for the limiter's life (keys from the configuration only).</summary>
    public static LazyPartitionedRateLimiter<TKey> ConcurrencyLimiters(Func<TKey, ConcurrencyLimiterOptions> options, IEqualityComparer<TKey>? comparer = null) =>
        new(key => new ConcurrencyLimiter(options(key)), dropIdle: false, comparer);

    /// <summary>Partitions held now (tests).</summary>
    internal int Partitions => _partitions.Count;

    /// <summary>The statistics of <paramref name="resource"/>'s partition, refilled to now; null when it has none (nothing used or dropped idle).</summary>
    public override RateLimiterStatistics? GetStatistics(TKey resource)
    {
        SweepIfDue();
        return _partitions.TryGetValue(resource, out var limiter) ? Refilled(limiter).GetStatistics() : null;
    }

    protected override RateLimitLease AttemptAcquireCore(TKey resource, int permitCount) => Partition(resource).AttemptAcquire(permitCount);

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(TKey resource, int permitCount, CancellationToken cancellationToken) =>
        Partition(resource).AcquireAsync(permitCount, cancellationToken);

    private RateLimiter Partition(TKey resource)
    {
        SweepIfDue();
        return Refilled(_partitions.GetOrAdd(resource, _create));
    }

    /// <summary>Runs <see cref="Sweep"/> on the first use after <see cref="IdleAfter"/> since the last one (one caller sweeps).</summary>
    private void SweepIfDue()
    {
        if (!_dropIdle) return;
        var now = Stopwatch.GetTimestamp();
        var due = Volatile.Read(ref _nextSweep);
        if (now >= due && Interlocked.CompareExchange(ref _nextSweep, now + (long)(IdleAfter.TotalSeconds * Stopwatch.Frequency), due) == due)
            Sweep();
    }

    private static RateLimiter Refilled(RateLimiter limiter)
    {
        if (limiter is ReplenishingRateLimiter bucket) bucket.TryReplenish();
        return limiter;
    }

    /// <summary>Drops the token buckets full again for at least <paramref name="idleAfter"/> (default <see cref="IdleAfter"/>); concurrency limiters stay.</summary>
    internal void Sweep(TimeSpan? idleAfter = null)
    {
        if (!_dropIdle) return;
        var limit = idleAfter ?? IdleAfter;
        foreach (var partition in _partitions)
            if (Refilled(partition.Value).IdleDuration is { } idle && idle >= limit)
                _partitions.TryRemove(partition);
    }

    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        foreach (var partition in _partitions) partition.Value.Dispose();
        _partitions.Clear();
    }

    protected override ValueTask DisposeAsyncCore()
    {
        Dispose(true);
        return ValueTask.CompletedTask;
    }
}
