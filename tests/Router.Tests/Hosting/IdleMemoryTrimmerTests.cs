using Xunit;
using Router.Node;

namespace Router.Tests.Hosting;

/// <summary>When Router.Node returns a burst's heap to the OS (<see cref="IdleMemoryTrimmer"/>).</summary>
public sealed class IdleMemoryTrimmerTests
{
    private const long MiB = 1024 * 1024;
    private static readonly TimeSpan Period = IdleMemoryTrimmer.Period;

    [Fact]
    public void A_quiet_process_whose_heap_grew_is_trimmed()
    {
        // 1 MB/s allocated (a camera or two), committed 100 MiB above the last trim: the burst is over.
        Assert.True(IdleMemoryTrimmer.ShouldTrim(1 * MiB * 15, Period, 300 * MiB, 200 * MiB));
    }

    [Fact]
    public void A_busy_process_is_not_trimmed()
    {
        // 50 MB/s allocated: fan-out under way; a blocking full collection would stall it.
        Assert.False(IdleMemoryTrimmer.ShouldTrim(50 * MiB * 15, Period, 300 * MiB, 100 * MiB));
    }

    [Fact]
    public void A_quiet_process_whose_heap_did_not_grow_is_not_trimmed_again()
    {
        Assert.False(IdleMemoryTrimmer.ShouldTrim(0, Period, 120 * MiB, 100 * MiB));
        Assert.True(IdleMemoryTrimmer.ShouldTrim(0, Period, 100 * MiB + IdleMemoryTrimmer.GrowthBytes, 100 * MiB));
    }
}
