using System.Diagnostics;
using System.Threading.RateLimiting;
using Router.Gateway.Admission;
using Xunit;
using Router.Tests.Support;

namespace Router.Tests.Admission;

/// <summary>The gateway's timer-free partitioned limiter: buckets refilled on use, partitions per key, idle ones dropped.</summary>
public sealed class LazyPartitionedRateLimiterTests
{
    private static TokenBucketRateLimiterOptions Bucket(int limit, int perSecond) => new()
    {
        TokenLimit = limit, TokensPerPeriod = perSecond, ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 0, AutoReplenishment = true,
    };

    [Fact]
    public async Task A_bucket_refuses_when_empty_and_refills_from_the_time_elapsed_without_a_timer()
    {
        // 20 tokens a second: an emptied bucket holds a whole token again after ~50 ms, on use alone.
        using var limiter = LazyPartitionedRateLimiter<string>.TokenBuckets(_ => Bucket(3, 20), StringComparer.Ordinal);
        for (var i = 0; i < 3; i++)
            using (var lease = limiter.AttemptAcquire("acme")) Assert.True(lease.IsAcquired);
        var emptiedAt = Stopwatch.GetTimestamp();
        using (var refused = limiter.AttemptAcquire("acme"))
        {
            Assert.False(refused.IsAcquired);
            Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
            Assert.True(retryAfter > TimeSpan.Zero);
        }
        var deadline = WaitDeadline.In(TimeSpan.FromSeconds(5));
        while (true)
        {
            using var lease = limiter.AttemptAcquire("acme");
            if (lease.IsAcquired) break;
            Assert.False(deadline.Passed, "the bucket was not refilled on use within 5 s");
            await Task.Yield();
        }
        // Not before a token's worth of time (50 ms) went by: the refill follows the rate, not the number of calls.
        Assert.True(Stopwatch.GetElapsedTime(emptiedAt) >= TimeSpan.FromMilliseconds(45), $"refilled after {Stopwatch.GetElapsedTime(emptiedAt).TotalMilliseconds} ms");
    }

    [Fact]
    public void Keys_have_partitions_of_their_own()
    {
        using var limiter = LazyPartitionedRateLimiter<string>.ConcurrencyLimiters(_ => new ConcurrencyLimiterOptions { PermitLimit = 1, QueueLimit = 0 },
            StringComparer.Ordinal);
        using var acme = limiter.AttemptAcquire("acme");
        Assert.True(acme.IsAcquired);
        using (var second = limiter.AttemptAcquire("acme")) Assert.False(second.IsAcquired);
        using (var globex = limiter.AttemptAcquire("globex")) Assert.True(globex.IsAcquired);
        Assert.Equal(0, limiter.GetStatistics("acme")!.CurrentAvailablePermits);
        Assert.Null(limiter.GetStatistics("initech")); // never used: no partition
    }

    [Fact]
    public void Full_buckets_are_dropped_and_refilled_ones_come_back_full()
    {
        using var limiter = LazyPartitionedRateLimiter<string>.TokenBuckets(_ => Bucket(2, 1000), StringComparer.Ordinal);
        limiter.AttemptAcquire("a").Dispose();
        limiter.AttemptAcquire("b").Dispose();
        Assert.Equal(2, limiter.Partitions);
        var deadline = WaitDeadline.In(TimeSpan.FromSeconds(5)); // 1000 tokens/s: full again within ~1 ms
        while (limiter.Partitions > 0)
        {
            Assert.False(deadline.Passed, "full buckets were not dropped within 5 s");
            limiter.Sweep(TimeSpan.Zero);
        }
        Assert.Null(limiter.GetStatistics("a"));
        using var lease = limiter.AttemptAcquire("a", 2); // a new, full bucket
        Assert.True(lease.IsAcquired);
    }

    [Fact]
    public void Concurrency_partitions_are_kept_so_that_the_limit_always_holds()
    {
        using var limiter = LazyPartitionedRateLimiter<string>.ConcurrencyLimiters(_ => new ConcurrencyLimiterOptions { PermitLimit = 1, QueueLimit = 0 },
            StringComparer.Ordinal);
        var held = limiter.AttemptAcquire("held");
        limiter.AttemptAcquire("released").Dispose();
        limiter.Sweep(TimeSpan.Zero);
        Assert.Equal(2, limiter.Partitions); // idle or not: a lease of a dropped limiter would not count against a new one
        using (var again = limiter.AttemptAcquire("held")) Assert.False(again.IsAcquired);
        held.Dispose();
        using (var after = limiter.AttemptAcquire("held")) Assert.True(after.IsAcquired);
    }

    [Fact]
    public void A_bucket_that_is_not_full_again_is_not_idle()
    {
        // 1 token a second, 2 held: after one is used the partition stays (its state matters) until it is full again.
        using var limiter = LazyPartitionedRateLimiter<string>.TokenBuckets(_ => Bucket(2, 1), StringComparer.Ordinal);
        limiter.AttemptAcquire("acme").Dispose();
        limiter.Sweep(TimeSpan.Zero);
        Assert.Equal(1, limiter.Partitions);
        Assert.Equal(1, limiter.GetStatistics("acme")!.CurrentAvailablePermits);
    }
}
