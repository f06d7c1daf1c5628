using System.CommandLine;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Router.Gateway.Security;
using Xunit;

namespace Router.Tests.Cli;

public sealed class KeysCommandTests
{
    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = Router.Cli.Program.BuildRootCommand().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void Keys_new_prints_a_fresh_key_its_sha256_and_a_configuration_the_gateway_accepts()
    {
        var (exit, text, err) = Run("keys", "new", "--tenant", "acme", "--scopes", "ingest,view", "--name", "robot fleet", "--index", "3");
        Assert.Equal(0, exit);
        Assert.Empty(err);
        var lines = text.Split('\n', StringSplitOptions.TrimEntries);
        var key = lines.Single(l => l.StartsWith("key: ", StringComparison.Ordinal))["key: ".Length..];
        var sha = lines.Single(l => l.StartsWith("sha256: ", StringComparison.Ordinal))["sha256: ".Length..];
        Assert.StartsWith("rk_", key);
        Assert.True(key.Length >= 40, key);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))), sha);

        // The JSON entry binds to an ApiKeyEntry the gateway validates and accepts.
        var entry = JsonSerializer.Deserialize<ApiKeyEntry>(lines.Single(l => l.StartsWith('{')))!;
        Assert.Equal(sha, entry.Sha256);
        Assert.Equal("acme", entry.Tenant);
        Assert.Equal(["ingest", "view"], entry.Scopes);
        Assert.Equal("robot fleet", entry.Name);
        Assert.True(ApiKeyStore.TryValidate(entry, out var problem), problem);

        // The environment-variable form binds through configuration to the same entry; the store authenticates the key.
        var variables = lines.Where(l => l.StartsWith("Router__", StringComparison.Ordinal))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0].Replace("__", ":"), p => (string?)p[1]);
        Assert.Contains("Router:ApiKeys:3:Sha256", variables.Keys);
        var options = new ConfigurationBuilder().AddInMemoryCollection(variables).Build().GetSection("Router").Get<ApiKeyOptions>()!;
        var bound = options.ApiKeys.Single(e => e is not null && e.Sha256.Length > 0);
        var store = new ApiKeyStore(Microsoft.Extensions.Options.Options.Create(new ApiKeyOptions { ApiKeys = [bound] }));
        var identity = store.Authenticate(key);
        Assert.NotNull(identity);
        Assert.Equal("acme", identity!.Tenant);
        Assert.True(identity.Has(ApiScopes.Ingest) && identity.Has(ApiScopes.View));

        // Fresh each time.
        Assert.DoesNotContain(key, Run("keys", "new", "--tenant", "acme").Out);
    }

    [Theory]
    [InlineData("--tenant", "Acme Corp!", "--tenant")]
    [InlineData("--scopes", "ingest,admin", "unknown scope 'admin'")]
    [InlineData("--scopes", ",", "--scopes needs one or more")]
    public void Keys_new_rejects_bad_input(string option, string value, string expected)
    {
        var args = new List<string> { "keys", "new", "--tenant", "acme" };
        args.AddRange([option, value]);
        var parse = Router.Cli.Program.BuildRootCommand().Parse(args.ToArray());
        Assert.Contains(parse.Errors, e => e.Message.Contains(expected, StringComparison.Ordinal));
    }
}
