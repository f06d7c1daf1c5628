using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Router.Gateway;
using Router.Gateway.Security;
using Router.Node;
using Xunit;

namespace Router.Tests.Gateway;

/// <summary>Bad API key configuration stops the host at start-up with a message naming the entry, not on the first request.</summary>
public sealed class ApiKeyValidationTests
{
    private static readonly string GoodHash = ApiKeyStore.HashKey("some-key");

    private static ApiKeyEntry Entry(string sha256, string tenant = "acme", params string[] scopes) =>
        new() { Sha256 = sha256, Tenant = tenant, Scopes = scopes.Length == 0 ? ["view"] : [.. scopes] };

    [Fact]
    public void Validate_names_every_bad_entry_and_accepts_good_ones()
    {
        var options = new ApiKeyOptions
        {
            ApiKeys =
            [
                Entry(GoodHash.ToUpperInvariant(), "acme", "INGEST", "view"), // 0: fine (hex and scope names are case-insensitive)
                Entry("abc123"),                                               // 1: too short
                Entry(new string('g', 64)),                                    // 2: not hex
                Entry(ApiKeyStore.HashKey("k3"), "Not_A_Tenant"),              // 3: bad tenant
                Entry(ApiKeyStore.HashKey("k4"), "acme", "veiw"),              // 4: unknown scope
                new ApiKeyEntry { Sha256 = ApiKeyStore.HashKey("k5"), Tenant = "acme" }, // 5: no scopes
                Entry(GoodHash, "globex"),                                     // 6: the same key as 0
            ],
        };
        var errors = ApiKeyStore.Validate(options);
        Assert.Equal(6, errors.Count);
        Assert.Collection(errors,
            e => Assert.Contains("Router:ApiKeys:1: Sha256 must be the 64 hex characters", e),
            e => Assert.Contains("Router:ApiKeys:2: Sha256", e),
            e => Assert.Contains("Router:ApiKeys:3: tenant", e),
            e => Assert.Contains("Router:ApiKeys:4: unknown scope 'veiw'", e),
            e => Assert.Contains("Router:ApiKeys:5: Scopes is empty", e),
            e => Assert.Contains("Router:ApiKeys:6: the same Sha256 as Router:ApiKeys:0", e));
        Assert.Empty(ApiKeyStore.Validate(new ApiKeyOptions { ApiKeys = [options.ApiKeys[0]] }));
    }

    [Fact]
    public async Task A_gateway_host_with_a_bad_key_fails_to_start()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Router:ApiKeys:0:Name"] = "robots",
            ["Router:ApiKeys:0:Tenant"] = "acme",
            ["Router:ApiKeys:0:Sha256"] = "not-a-hash",
            ["Router:ApiKeys:0:Scopes:0"] = "ingest",
        });
        builder.Services.AddRouterGateway(builder.Configuration);
        await using var app = builder.Build();
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("Router:ApiKeys:0 ('robots'): Sha256", e.Message);
    }

    [Fact]
    public void Standalone_build_with_a_bad_key_fails()
    {
        var e = Assert.Throws<OptionsValidationException>(() => RouterNodeApp.Build(
        [
            "--urls=http://127.0.0.1:0", "--Router:Demo:PrintBanner=false",
            "--Router:ApiKeys:0:Tenant=acme", $"--Router:ApiKeys:0:Sha256={GoodHash}", "--Router:ApiKeys:0:Scopes:0=admin",
        ]));
        Assert.Contains("Router:ApiKeys:0: unknown scope 'admin'", e.Message);
    }

    /// <summary>Router.Node in role gateway exits at once with code 2 and the problem on stderr.</summary>
    [Fact]
    public async Task The_gateway_role_process_exits_2_with_the_message()
    {
        var info = TestExecutables.StartInfo("Router.Node.dll");
        info.ArgumentList.Add("--role=gateway");
        info.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        info.Environment["Router__Cluster__Port"] = "0";
        info.Environment["Router__ApiKeys__0__Tenant"] = "acme";
        info.Environment["Router__ApiKeys__0__Sha256"] = "0123";
        info.Environment["Router__ApiKeys__0__Scopes__0"] = "view";

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        Assert.True(process.ExitCode == 2, $"exit code {process.ExitCode}\n{await stdout}\n{await stderr}");
        Assert.Contains("Router.Node: invalid configuration: Router:ApiKeys:0: Sha256 must be the 64 hex characters", await stderr);
    }
}
