using System.Diagnostics;
using System.Threading.RateLimiting;
using Router.Actors.Admission;
using Xunit;

namespace Router.Tests.Admission;

/// <summary>The one place Router's rate limits become token buckets: exact rates, bounded periods, no timer.</summary>
public sealed class TokenBucketsTests
{
    private static double Rate(TokenBucketRateLimiterOptions o) => o.TokensPerPeriod / o.ReplenishmentPeriod.TotalSeconds;

    [Theory]
    [InlineData(50, 100)] // a multiple of 10: 5 tokens every 100 ms
    [InlineData(15, 1000)] // another whole number: 15 a second (the relays' old formula made it 2 per 100 ms, 20/s)
    [InlineData(1, 1000)]
    [InlineData(2.5, 400)] // a fraction: one token every 400 ms
    [InlineData(0.01, 100_000)]
    public void A_rate_becomes_a_bucket_of_that_exact_rate_refilled_on_use(double perSecond, double periodMs)
    {
        var options = TokenBuckets.PerSecond(perSecond, 7);
        Assert.Equal(periodMs, options.ReplenishmentPeriod.TotalMilliseconds, 6);
        Assert.Equal(perSecond, Rate(options), 9);
        Assert.Equal(7, options.TokenLimit);
        Assert.Equal(0, options.QueueLimit);
        Assert.False(options.AutoReplenishment);
    }

    [Fact]
    public void A_rate_under_one_an_hour_is_one_an_hour()
    {
        var options = TokenBuckets.PerSecond(1e-9, 1);
        Assert.Equal(TokenBuckets.LongestPeriod, options.ReplenishmentPeriod);
        Assert.Equal(1, options.TokensPerPeriod);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(-1, 1)]
    [InlineData(double.NaN, 1)]
    [InlineData(double.PositiveInfinity, 1)]
    [InlineData(10, 0)]
    public void A_rate_or_limit_out_of_range_is_refused(double perSecond, int tokenLimit) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenBuckets.PerSecond(perSecond, tokenLimit));

    [Fact]
    public void Refilled_on_use_keeps_every_setting_but_the_timer()
    {
        var auto = new TokenBucketRateLimiterOptions
        {
            TokenLimit = 9, TokensPerPeriod = 3, ReplenishmentPeriod = TimeSpan.FromMilliseconds(250), QueueLimit = 2,
            QueueProcessingOrder = QueueProcessingOrder.NewestFirst, AutoReplenishment = true,
        };
        var manual = TokenBuckets.RefilledOnUse(auto);
        Assert.False(manual.AutoReplenishment);
        Assert.Equal((9, 3, TimeSpan.FromMilliseconds(250), 2, QueueProcessingOrder.NewestFirst),
            (manual.TokenLimit, manual.TokensPerPeriod, manual.ReplenishmentPeriod, manual.QueueLimit, manual.QueueProcessingOrder));
    }

    [Fact]
    public async Task An_emptied_bucket_holds_a_token_again_only_after_a_tokens_worth_of_time()
    {
        // 15 a second, limit 2: after emptying it, the next token takes ~67 ms of time, however often it is asked.
        using var bucket = TokenBuckets.Create(15, 2);
        for (var i = 0; i < 2; i++)
        {
            bucket.TryReplenish();
            using var lease = bucket.AttemptAcquire();
            Assert.True(lease.IsAcquired);
        }
        var emptiedAt = Stopwatch.GetTimestamp();
        var deadline = emptiedAt + 5 * Stopwatch.Frequency;
        while (true)
        {
            bucket.TryReplenish();
            using var lease = bucket.AttemptAcquire();
            if (lease.IsAcquired) break;
            Assert.True(Stopwatch.GetTimestamp() < deadline, "no token within 5 s");
            await Task.Yield();
        }
        Assert.True(Stopwatch.GetElapsedTime(emptiedAt) >= TimeSpan.FromMilliseconds(60), $"a token after {Stopwatch.GetElapsedTime(emptiedAt).TotalMilliseconds} ms");
    }
}
