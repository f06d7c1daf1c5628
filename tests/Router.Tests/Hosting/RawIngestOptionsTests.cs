using Microsoft.Extensions.Configuration;
using Router.Actors.Hosting;
using Router.Gateway.Ingest;
using Router.Node;
using Xunit;

namespace Router.Tests.Hosting;

/// <summary><c>Router:Gateway:RawIngest</c>: validated at start, known to the configuration surface.</summary>
public sealed class RawIngestOptionsTests
{
    [Fact]
    public void Defaults_are_valid_and_carry_a_full_hd_rgba_frame_with_its_largest_header()
    {
        var options = new RawIngestOptions();
        Assert.Empty(RawIngestOptions.Problems(options));
        Assert.True(options.MaxMessageBytes >= 1920 * 1080 * 4 + Router.Protocol.RawFrameCodec.MaxHeaderLength);
        Assert.Equal(85, options.JpegQuality);
    }

    [Fact]
    public void Bad_values_stop_the_start_naming_their_keys()
    {
        var e = Assert.ThrowsAny<Exception>(() => RouterNodeApp.Build([
            "--Router:Demo:PrintBanner=false", "--Router:Demo:Url=testpattern:",
            "--Router:Gateway:RawIngest:JpegQuality=0", "--Router:Gateway:RawIngest:MaxEncodesPerTenant=0",
            "--Router:Gateway:RawIngest:EncodeConcurrency=-1", "--Router:Gateway:RawIngest:MaxMessageBytes=10",
        ]));
        var problems = RouterOptionsServiceCollectionExtensions.ConfigurationProblems(e) ?? throw new Xunit.Sdk.XunitException($"not a configuration error: {e}");
        Assert.Contains(problems, p => p.StartsWith("Router:Gateway:RawIngest:JpegQuality (0) must be between 1 and 100", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Router:Gateway:RawIngest:MaxEncodesPerTenant (0)", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Router:Gateway:RawIngest:EncodeConcurrency (-1)", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Router:Gateway:RawIngest:MaxMessageBytes (10)", StringComparison.Ordinal));
    }

    [Fact]
    public void A_typo_in_the_section_names_the_nearest_known_key()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection([
            new("Router:Gateway:RawIngest:JpegQualty", "80"), new("Router:Gateway:RawIngest:EncodeQueueLimit", "8"),
        ]).Build();
        var problems = RouterNodeApp.ConfigurationSurface.Problems(config);
        Assert.Single(problems);
        Assert.StartsWith("Router:Gateway:RawIngest:JpegQualty is not a known setting (did you mean Router:Gateway:RawIngest:JpegQuality?", problems[0]);
    }
}
