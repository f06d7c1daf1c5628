namespace Router.Cli.Push;

/// <summary>
/// Exponential reconnect delay: <c>initial · 2^(attempt-1)</c> capped at <c>max</c>, with ±25 % jitter so that many
/// devices cut off by the same node do not come back in lock step.
/// </summary>
internal sealed class Backoff(TimeSpan initial, TimeSpan max)
{
    /// <summary>First delay.</summary>
    public TimeSpan Initial { get; } = initial;

    /// <summary>Largest delay before jitter.</summary>
    public TimeSpan Max { get; } = max;

    /// <summary>Delay before retry number <paramref name="attempt"/> (1-based), without jitter.</summary>
    public TimeSpan BaseDelay(int attempt)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 30);
        var ms = Math.Min(Initial.TotalMilliseconds * Math.Pow(2, exponent), Max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ms);
    }

    /// <summary>Delay before retry number <paramref name="attempt"/> (1-based), with jitter in [0.75, 1.25).</summary>
    public TimeSpan Delay(int attempt) =>
        TimeSpan.FromMilliseconds(BaseDelay(attempt).TotalMilliseconds * (0.75 + (Random.Shared.NextDouble() * 0.5)));
}
