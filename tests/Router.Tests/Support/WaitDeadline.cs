using System.Diagnostics;

namespace Router.Tests.Support;

/// <summary>
/// The end of a test's wait, on the monotonic clock (<see cref="Stopwatch"/>), so a step of the machine's wall clock
/// (seen on CI: 3.7 s in a 0.4 s test) neither cuts a wait short nor stretches it. Wall-clock time
/// (<see cref="DateTime.UtcNow"/>) stays for timestamps and token expiry only.
/// </summary>
internal readonly struct WaitDeadline
{
    private readonly long _end;

    private WaitDeadline(long end) => _end = end;

    /// <summary>A deadline <paramref name="within"/> from now (zero or negative: already passed; beyond a year: never).</summary>
    public static WaitDeadline In(TimeSpan within)
    {
        var now = Stopwatch.GetTimestamp();
        if (within <= TimeSpan.Zero) return new(now);
        if (within > TimeSpan.FromDays(365)) return new(long.MaxValue); // no overflow into the past
        return new(now + (long)(within.TotalSeconds * Stopwatch.Frequency));
    }

    /// <summary>True once the deadline is reached.</summary>
    public bool Passed => Stopwatch.GetTimestamp() >= _end;

    /// <summary>Time left until the deadline (negative once it passed).</summary>
    public TimeSpan Remaining => TimeSpan.FromSeconds((double)(_end - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
}
