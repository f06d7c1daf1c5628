using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Router.Actors.Camera;
using Router.Actors.Hosting;
using Router.Gateway;
using Router.Node;
using Router.Tests.Cluster;
using Xunit;

namespace Router.Tests.Hosting;

/// <summary>
/// Options are validated at start-up: every problem listed with its key, cross-checks between related limits, unknown
/// <c>Router:*</c> keys refused with the nearest known one; a real process exits 2 with one line per problem.
/// </summary>
public sealed class OptionsValidationTests
{
    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    private static IReadOnlyList<string> BuildProblems(params string[] args)
    {
        var e = Assert.ThrowsAny<Exception>(() => RouterNodeApp.Build(["--Router:Demo:PrintBanner=false", "--Router:Demo:Url=testpattern:", .. args]));
        return RouterOptionsServiceCollectionExtensions.ConfigurationProblems(e) ?? throw new Xunit.Sdk.XunitException($"not a configuration error: {e}");
    }

    [Theory]
    [InlineData(double.NaN, 100, "NewCamerasPerSecondPerTenant")]
    [InlineData(double.PositiveInfinity, 100, "NewCamerasPerSecondPerTenant")]
    [InlineData(-1, 100, "NewCamerasPerSecondPerTenant")]
    [InlineData(50, 0, "NewCameraBurstPerTenant")]
    public void A_hostile_new_camera_rate_is_refused_at_start(double rate, int burst, string key)
    {
        var problems = CameraOptionsValidator.Problems(new CameraOptions { NewCamerasPerSecondPerTenant = rate, NewCameraBurstPerTenant = burst });
        Assert.Contains(problems, p => p.StartsWith($"Router:Camera:{key} ", StringComparison.Ordinal));
    }

    [Fact]
    public void The_defaults_and_the_shipped_appsettings_are_valid()
    {
        foreach (var project in new[] { "Router.Node" }) // the one executable (Router.Gateway is a library)
        {
            var shipped = new ConfigurationBuilder().AddJsonFile(Path.Combine(Media.TestMedia.RepoRoot(), "src", project, "appsettings.json"), optional: false).Build();
            Assert.NotEmpty(shipped.GetSection("Router").GetChildren());
            Assert.Empty(RouterNodeApp.ConfigurationSurface.Problems(shipped));
        }
        Assert.Empty(CameraOptionsValidator.Problems(new CameraOptions()));
        Assert.Empty(RouterClusterOptionsValidator.Problems(new RouterClusterOptions(), new CameraOptions().SizePolicy.HardLimitBytes));
        Assert.Empty(GatewayOptionsValidator.Problems(new GatewayOptions(), new CameraOptions().SizePolicy.HardLimitBytes));
    }

    [Fact]
    public void A_typo_names_the_unknown_key_and_the_nearest_known_one()
    {
        var problems = RouterNodeApp.ConfigurationSurface.Problems(Config(
            ("Router:Gateway:PingIntervall", "00:00:10"), ("Router:Camera:SizePolicy:HardLimitByte", "5"), ("Router:Clustre:Port", "1"),
            ("Router:Gateway:AuthTimeout", "00:00:02")));
        Assert.Equal(3, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("Router:Gateway:PingIntervall is not a known setting (did you mean Router:Gateway:PingInterval?", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Router:Camera:SizePolicy:HardLimitByte is not a known setting (did you mean Router:Camera:SizePolicy:HardLimitBytes?", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Router:Clustre is not a known setting (did you mean Router:Cluster?", StringComparison.Ordinal));
    }

    [Fact]
    public void Values_that_do_not_convert_and_sections_set_as_one_value_are_refused()
    {
        var problems = RouterNodeApp.ConfigurationSurface.Problems(Config(
            ("Router:Cluster:Port", "http"), ("Router:Demo:PrintBanner", "perhaps"), ("Router:Camera:SizePolicy", "5"), ("Router:PullSources:first:Url", "x")));
        Assert.Equal(4, problems.Count);
        Assert.Contains(problems, p => p.Contains("Router:Cluster:Port", StringComparison.Ordinal) && p.Contains("http", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Router:Demo:PrintBanner", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Router:Camera:SizePolicy is a SizePolicyOptions", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("'first' is not an index", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_problem_is_listed_with_its_key_including_the_cross_checks()
    {
        var problems = BuildProblems(
            "--Router:Camera:SizePolicy:HardLimitBytes=3000000", "--Router:Camera:SizePolicy:PassThroughMaxBytes=2000000",
            "--Router:Cluster:DownRemovalMargin=00:00:01", "--Router:Gateway:Limits:MaxCamerasPerDevice=0",
            "--Router:Gateway:Limits:TrustedProxies:0=not-a-network");
        Assert.Contains(problems, p => p.StartsWith("Router:Cluster:DownRemovalMargin (00:00:01) must be at least Router:Cluster:SplitBrainStableAfter", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Router:Cluster:MaximumFrameSizeBytes (2097152) must be at least Router:Camera:SizePolicy:HardLimitBytes (3000000)", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Router:Gateway:MaxDeviceMessageBytes (1049600) must be at least Router:Camera:SizePolicy:HardLimitBytes (3000000)", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Router:Gateway:Limits:MaxCamerasPerDevice (0) must be above zero", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Router:Gateway:Limits:TrustedProxies:0 ('not-a-network')", StringComparison.Ordinal));
        Assert.Equal(5, problems.Count);
    }

    [Fact]
    public void A_bad_size_policy_stops_the_build_not_the_camera_entity()
    {
        var problems = BuildProblems("--Router:Camera:SizePolicy:PassThroughMaxBytes=0");
        Assert.Equal(["Router:Camera:SizePolicy: size limits must satisfy 0 < PassThroughMaxBytes (0) <= HardLimitBytes (1048576)"], problems);
        // The cross-checks that read the size policy do not repeat its problem.
        var pass = BuildProblems("--Router:Camera:SizePolicy:PassThroughMaxBytes=2000000", "--role=node");
        Assert.Single(pass);
        var qualities = BuildProblems("--Router:Camera:SizePolicy:MinReencodeQuality=90", "--Router:Camera:PullJpegQuality=0");
        Assert.Equal(2, qualities.Count);
        Assert.Contains(qualities, p => p.StartsWith("Router:Camera:SizePolicy: re-encode qualities must satisfy 1 <= MinReencodeQuality (90) <= InitialReencodeQuality (85)", StringComparison.Ordinal));
        Assert.Contains("Router:Camera:PullJpegQuality (0) must be 1–100", qualities);
    }

    [Fact]
    public void The_hard_limit_and_the_device_message_limit_agree_at_the_edge()
    {
        var hard = new CameraOptions().SizePolicy.HardLimitBytes;
        Assert.Empty(GatewayOptionsValidator.Problems(new GatewayOptions { MaxDeviceMessageBytes = hard + GatewayOptionsValidator.MaxBinaryHeaderBytes }, hard));
        Assert.Single(GatewayOptionsValidator.Problems(new GatewayOptions { MaxDeviceMessageBytes = hard + GatewayOptionsValidator.MaxBinaryHeaderBytes - 1 }, hard));
        Assert.Empty(RouterClusterOptionsValidator.Problems(new RouterClusterOptions { MaximumFrameSizeBytes = hard + RouterClusterOptionsValidator.RemotingFrameOverheadBytes }, hard));
        Assert.Single(RouterClusterOptionsValidator.Problems(new RouterClusterOptions { MaximumFrameSizeBytes = hard + RouterClusterOptionsValidator.RemotingFrameOverheadBytes - 1 }, hard));
    }

    [Theory]
    [InlineData("standalone", "--Router:Camera:SizePolicy:PassThroughMaxBytes=0",
        "Router.Node: invalid configuration: Router:Camera:SizePolicy: size limits must satisfy 0 < PassThroughMaxBytes (0)")]
    [InlineData("standalone", "--Router:Gateway:PingIntervall=00:00:10",
        "Router.Node: invalid configuration: Router:Gateway:PingIntervall is not a known setting (did you mean Router:Gateway:PingInterval?")]
    [InlineData("gateway", "--Router:Gateway:PingIntervall=00:00:10",
        "Router.Node: invalid configuration: Router:Gateway:PingIntervall is not a known setting (did you mean Router:Gateway:PingInterval?")]
    [InlineData("gateway", "--Router:Camera:SizePolicy:PassThroughMaxBytes=0",
        "Router.Node: invalid configuration: Router:Camera:SizePolicy: size limits must satisfy 0 < PassThroughMaxBytes (0)")]
    public async Task A_process_with_a_bad_option_exits_2_with_one_line_per_problem(string role, string badArg, string expectedLine)
    {
        using var process = RouterProcess.Start("options-" + role, "Router.Node.dll",
            [$"--role={role}", "--urls=http://127.0.0.1:0", "--Router:Cluster:Port=0", badArg, "--Router:Cluster:DownRemovalMargin=00:00:01"]);
        Assert.True(await process.WaitForExitAsync(TimeSpan.FromSeconds(30)), "the process did not exit");
        Assert.Equal(2, process.ExitCode);
        Assert.Contains(process.Output, l => l.Contains(expectedLine, StringComparison.Ordinal));
        // A second problem of another section is on its own line (unknown keys stop the start before the range checks).
        if (!badArg.Contains("Intervall", StringComparison.Ordinal))
            Assert.Contains(process.Output, l => l.Contains("invalid configuration: Router:Cluster:DownRemovalMargin (00:00:01)", StringComparison.Ordinal));
    }
}
