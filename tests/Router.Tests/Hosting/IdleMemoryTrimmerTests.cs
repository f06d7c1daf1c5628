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

    [Fact]
    public void A_process_at_rest_is_trimmed_once_its_gen0_budget_was_touched()
    {
        // Start-up over (~40 KB/s), committed 19 MiB and no trim yet: the start-up's garbage and the gen0 budget go.
        Assert.True(IdleMemoryTrimmer.ShouldTrimAtRest(40 * 1024 * 15, Period, 19 * MiB, 0));
        // Right after that trim, and until the budget has been touched again by RestGrowthBytes.
        Assert.False(IdleMemoryTrimmer.ShouldTrimAtRest(40 * 1024 * 15, Period, 10 * MiB, 5 * MiB));
        Assert.True(IdleMemoryTrimmer.ShouldTrimAtRest(40 * 1024 * 15, Period, 5 * MiB + IdleMemoryTrimmer.RestGrowthBytes, 5 * MiB));
    }

    [Fact]
    public void A_camera_pushing_is_not_at_rest()
    {
        // One camera at 30 fps allocates ~2-3 MB/s: its gen0 budget refills in seconds, so trimming it would be churn.
        Assert.False(IdleMemoryTrimmer.ShouldTrimAtRest(3 * MiB * 15, Period, 40 * MiB, 0));
    }
}
