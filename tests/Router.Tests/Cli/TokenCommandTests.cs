using System.CommandLine;
using System.Net;
using System.Text.Json;
using Router.Cli.Commands;
using Router.Tests.EndToEnd;
using Xunit;
using static Router.Tests.Security.ViewerTokenClients;

namespace Router.Tests.Cli;

/// <summary><c>router token</c> against a real Router: prints a token the gateway accepts, restricted as asked.</summary>
[Collection(RouterHostCollection.Name)]
public sealed class TokenCommandTests(RouterHost host)
{
    private static async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await Router.Cli.Program.BuildRootCommand().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Token_prints_a_token_for_the_source_that_the_gateway_accepts()
    {
        var before = DateTimeOffset.UtcNow;
        var (exit, text, err) = await RunAsync("token", "--url", host.WsBase.ToString(), "--key", RouterHost.DemoKey, "--source", "lobby", "--ttl", "10m");
        Assert.True(exit == 0, err);
        var token = text.Trim();
        Assert.DoesNotContain('\n', token);
        Assert.Contains("expires", err);
        using var http = host.Http(token);
        var sources = JsonDocument.Parse(await http.GetStringAsync("/v1/sources")).RootElement.GetProperty("sources");
        Assert.Equal(["lobby"], sources.EnumerateArray().Select(s => s.GetProperty("source_id").GetString()).ToList());
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync("/v1/sources/robot-01/cameras/front/snapshot.jpg")).StatusCode);
        var exp = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(token).ValidTo;
        Assert.InRange(exp, before.UtcDateTime.AddMinutes(10).AddSeconds(-2), DateTime.UtcNow.AddMinutes(10));
    }

    [Fact]
    public async Task Token_with_a_refused_key_exits_3_with_the_servers_reason()
    {
        var (exit, _, err) = await RunAsync("token", "--url", host.HttpBase.ToString(), "--key", RouterHost.AcmeIngestOnlyKey);
        Assert.Equal(3, exit);
        Assert.Contains("HTTP 403: API key lacks the 'view' scope", err);
    }

    [Theory]
    [InlineData("90", 90)]
    [InlineData("90s", 90)]
    [InlineData("10m", 600)]
    [InlineData("1h", 3600)]
    [InlineData("1d", 86400)]
    [InlineData("25h", null)]
    [InlineData("0s", null)]
    [InlineData("-5m", null)]
    [InlineData("10 min", null)]
    [InlineData("1.5h", null)]
    public void Ttl_is_a_whole_duration_of_1_s_to_24_h(string text, int? seconds)
    {
        Assert.Equal(seconds is not null, TokenCommand.TryParseDuration(text, out var ttl));
        if (seconds is { } s) Assert.Equal(TimeSpan.FromSeconds(s), ttl);
    }
}
