using System.Threading.RateLimiting;

namespace Router.Actors.Admission;

/// <summary>
/// The token buckets of Router's rate limits (gateway admission, the relays' new cameras), all refilled on use:
/// <see cref="TokenBucketRateLimiter"/> with <c>AutoReplenishment</c> off, so no timer runs for them. A caller calls
/// <see cref="ReplenishingRateLimiter.TryReplenish"/> before it acquires, and the bucket adds the tokens of the whole
/// periods elapsed since its last refill (docs/benchmarks.md, "A gateway in use: limiters without timers").
/// </summary>
public static class TokenBuckets
{
    /// <summary>The longest refill period, for rates under one token an hour: 1 hour.</summary>
    public static readonly TimeSpan LongestPeriod = TimeSpan.FromHours(1);

    /// <summary>
    /// Options for a bucket that refills <paramref name="perSecond"/> tokens a second, holds at most
    /// <paramref name="tokenLimit"/> (it starts full) and queues nothing. Refilled on use, the library adds tokens in
    /// proportion to the time elapsed, so the period only states the rate: 100 ms for a multiple of 10 a second, 1 s
    /// for another whole number, else one token every 1 / <paramref name="perSecond"/> s (at most
    /// <see cref="LongestPeriod"/>, so a rate under one an hour is one an hour; at least 1 µs, so a fractional rate or a
    /// whole one over <see cref="int.MaxValue"/> above a million a second is a million a second, which is no limit in
    /// practice). Whole rates up to <see cref="int.MaxValue"/> are exact.
    /// </summary>
    /// <param name="perSecond">Tokens a second; finite and above 0.</param>
    /// <param name="tokenLimit">Tokens held at most, at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of its range.</exception>
    public static TokenBucketRateLimiterOptions PerSecond(double perSecond, int tokenLimit)
    {
        if (!double.IsFinite(perSecond) || perSecond <= 0) throw new ArgumentOutOfRangeException(nameof(perSecond), perSecond, "must be finite and above 0");
        ArgumentOutOfRangeException.ThrowIfLessThan(tokenLimit, 1);
        var whole = perSecond >= 1 && perSecond <= int.MaxValue && perSecond == Math.Floor(perSecond);
        var (tokens, period) = whole && perSecond % 10 == 0 ? ((int)(perSecond / 10), TimeSpan.FromMilliseconds(100))
            : whole ? ((int)perSecond, TimeSpan.FromSeconds(1))
            : (1, TimeSpan.FromSeconds(Math.Max(1e-6, Math.Min(LongestPeriod.TotalSeconds, 1 / perSecond))));
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = tokenLimit,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = false,
        };
    }

    /// <summary>A bucket with the options of <see cref="PerSecond"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of its range.</exception>
    public static TokenBucketRateLimiter Create(double perSecond, int tokenLimit) => new(PerSecond(perSecond, tokenLimit));

    /// <summary>
    /// Refills <paramref name="bucket"/> from the time elapsed, then tries to take <paramref name="permits"/> tokens: how a
    /// bucket refilled on use is used (without the refill it would never get tokens back).
    /// </summary>
    /// <returns>The lease; <see cref="RateLimitLease.IsAcquired"/> is false when the bucket had too few tokens.</returns>
    public static RateLimitLease AttemptAcquire(ReplenishingRateLimiter bucket, int permits = 1)
    {
        bucket.TryReplenish();
        return bucket.AttemptAcquire(permits);
    }

    /// <summary><paramref name="options"/> with <c>AutoReplenishment</c> off, whatever it was: refilled on use.</summary>
    public static TokenBucketRateLimiterOptions RefilledOnUse(TokenBucketRateLimiterOptions options) => new()
    {
        TokenLimit = options.TokenLimit,
        TokensPerPeriod = options.TokensPerPeriod,
        ReplenishmentPeriod = options.ReplenishmentPeriod,
        QueueLimit = options.QueueLimit,
        QueueProcessingOrder = options.QueueProcessingOrder,
        AutoReplenishment = false,
    };
}
