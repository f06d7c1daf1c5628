namespace Router.Actors.Media;

/// <summary>
/// Capped exponential backoff with jitter for reopening a failed pull source: 0.5 s, doubling per consecutive failure,
/// capped at 30 s, each delay multiplied by a random factor in [0.75, 1.25) so that many sources that failed together
/// (a network outage) do not retry in lock-step. <see cref="Succeeded"/> after a healthy period starts again at 0.5 s.
/// </summary>
/// <remarks>Not thread-safe: one instance per capture thread.</remarks>
internal sealed class RetryBackoff
{
    /// <summary>The first delay, and the delay after a reset.</summary>
    public static readonly TimeSpan Initial = TimeSpan.FromSeconds(0.5);

    /// <summary>The largest delay before jitter.</summary>
    public static readonly TimeSpan Max = TimeSpan.FromSeconds(30);

    /// <summary>A connection that delivered frames for at least this long resets the backoff.</summary>
    public static readonly TimeSpan HealthyAfter = TimeSpan.FromSeconds(10);

    private const double Jitter = 0.25;
    private readonly Random _random;
    private int _failures;

    /// <summary>Creates a backoff at its first step.</summary>
    /// <param name="random">The jitter source; <see cref="Random.Shared"/> when null (tests pass a seeded one).</param>
    public RetryBackoff(Random? random = null) => _random = random ?? Random.Shared;

    /// <summary>The delay before the next attempt, then one step further (0.5, 1, 2, 4, 8, 16, 30, 30 … s before jitter).</summary>
    public TimeSpan NextDelay()
    {
        var baseMs = Math.Min(Max.TotalMilliseconds, Initial.TotalMilliseconds * Math.Pow(2, Math.Min(_failures, 16)));
        _failures++;
        return TimeSpan.FromMilliseconds(baseMs * (1 - Jitter + 2 * Jitter * _random.NextDouble()));
    }

    /// <summary>Records a connection that stayed up for <paramref name="healthyFor"/>; at least <see cref="HealthyAfter"/> resets the schedule.</summary>
    public void Succeeded(TimeSpan healthyFor)
    {
        if (healthyFor >= HealthyAfter) _failures = 0;
    }
}
