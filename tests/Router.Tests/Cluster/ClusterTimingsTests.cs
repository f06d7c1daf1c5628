using Router.Actors.Hosting;
using Xunit;

namespace Router.Tests.Cluster;

/// <summary>The rule down-removal-margin ≥ split-brain stable-after, checked when a Router process starts.</summary>
public sealed class ClusterTimingsTests
{
    [Fact]
    public void Defaults_keep_the_margin_at_least_stable_after_and_validate()
    {
        var options = new RouterClusterOptions();
        Assert.True(options.DownRemovalMargin >= options.SplitBrainStableAfter);
        Assert.True(options.SplitBrainStableAfter >= TimeSpan.FromSeconds(5), "a default below 5 s downs members that merely pause");
        options.Validate();
    }

    [Fact]
    public void A_margin_below_stable_after_or_a_zero_stable_after_is_rejected_with_both_settings_named()
    {
        var shortMargin = new RouterClusterOptions { SplitBrainStableAfter = TimeSpan.FromSeconds(7), DownRemovalMargin = TimeSpan.FromSeconds(1) };
        var e = Assert.Throws<RouterConfigurationException>(shortMargin.Validate);
        Assert.Contains("Router:Cluster:DownRemovalMargin", e.Message);
        Assert.Contains("Router:Cluster:SplitBrainStableAfter", e.Message);
        Assert.Throws<RouterConfigurationException>(new RouterClusterOptions { SplitBrainStableAfter = TimeSpan.Zero, DownRemovalMargin = TimeSpan.Zero }.Validate);
        new RouterClusterOptions { SplitBrainStableAfter = TimeSpan.FromSeconds(2), DownRemovalMargin = TimeSpan.FromSeconds(2) }.Validate();
    }

    [Theory]
    [InlineData("node")]
    [InlineData("gateway")]
    public async Task A_process_configured_with_a_margin_below_stable_after_exits_2_with_the_reason(string role)
    {
        using var process = RouterProcess.Start("timings-" + role, "Router.Node.dll",
        [
            $"--role={role}", "--urls=http://127.0.0.1:0", "--Router:Cluster:SplitBrainStableAfter=00:00:07", "--Router:Cluster:DownRemovalMargin=00:00:01",
        ]);
        Assert.True(await process.WaitForExitAsync(TimeSpan.FromSeconds(30)), "the process did not exit");
        Assert.Equal(2, process.ExitCode);
        Assert.Contains(process.Output, l => l.Contains("invalid configuration", StringComparison.Ordinal) &&
                                             l.Contains("DownRemovalMargin (00:00:01) must be at least", StringComparison.Ordinal));
    }
}
