using System.CommandLine;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Router.Protocol;

namespace Router.Cli.Commands;

/// <summary>
/// <c>router keys new --tenant acme --scopes ingest,view [--name label] [--index N]</c>: prints a fresh API key (32 random
/// bytes, base64url, prefixed <c>rk_</c>), its SHA-256 (what the gateway is configured with), and the configuration
/// snippet as a JSON entry of <c>Router:ApiKeys</c> and as environment variables. Offline: it contacts no gateway.
/// </summary>
internal sealed class KeysCommand
{
    private static readonly string[] KnownScopes = ["ingest", "view"];

    /// <summary>Defines <c>keys</c> and its <c>new</c> subcommand (with its action).</summary>
    public KeysCommand()
    {
        Tenant.Validators.Add(r =>
        {
            if (!Identifiers.IsValidTenant(r.GetValueOrDefault<string>(), out var error)) r.AddError($"--tenant: {error}");
        });
        Scopes.Validators.Add(r =>
        {
            var scopes = ParseScopes(r.GetValueOrDefault<string>());
            if (scopes.Count == 0) r.AddError("--scopes needs one or more of ingest, view (comma-separated).");
            foreach (var unknown in scopes.Where(s => !KnownScopes.Contains(s)))
                r.AddError($"--scopes: unknown scope '{unknown}' (scopes are ingest and view).");
        });
        Index.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 0 or > 9999) r.AddError("--index must be between 0 and 9999.");
        });
        var create = new Command("new", "Print a fresh API key, its SHA-256 and the gateway configuration for it (Router:ApiKeys).")
        {
            Tenant, Scopes, Name, Index,
        };
        create.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            output.Write(Describe(NewKey(), parse.GetValue(Tenant)!, ParseScopes(parse.GetValue(Scopes)), parse.GetValue(Name), parse.GetValue(Index)));
            return ExitCodes.Ok;
        });
        Command = new Command("keys", "Manage API keys.") { create };
    }

    /// <summary>The <c>keys</c> command.</summary>
    public Command Command { get; }

    /// <summary><c>--tenant</c>.</summary>
    public Option<string> Tenant { get; } = new("--tenant") { Description = "Tenant the key belongs to", Required = true, HelpName = "tenant" };

    /// <summary><c>--scopes</c>: comma-separated.</summary>
    public Option<string> Scopes { get; } = new("--scopes")
    {
        Description = "Comma-separated scopes: ingest (push frames), view (watch streams)",
        DefaultValueFactory = _ => "ingest,view",
        HelpName = "scopes",
    };

    /// <summary><c>--name</c>: label for logs.</summary>
    public Option<string?> Name { get; } = new("--name") { Description = "Label of the key in the gateway's logs", HelpName = "label" };

    /// <summary><c>--index</c>: N in the environment variable form.</summary>
    public Option<int> Index { get; } = new("--index")
    {
        Description = "Index N of the entry in the environment variable form (Router__ApiKeys__N__…)",
        DefaultValueFactory = _ => 0,
        HelpName = "N",
    };

    private static List<string> ParseScopes(string? text) =>
        (text ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => s.ToLowerInvariant()).Distinct().ToList();

    /// <summary>A fresh key: <c>rk_</c> and 32 random bytes in base64url (43 characters).</summary>
    public static string NewKey() =>
        "rk_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Lower-case hex SHA-256 of the UTF-8 key, as the gateway's <c>Router:ApiKeys:N:Sha256</c>.</summary>
    public static string Sha256Hex(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>The text printed by <c>keys new</c>.</summary>
    public static string Describe(string key, string tenant, IReadOnlyList<string> scopes, string? name, int index)
    {
        var sha = Sha256Hex(key);
        var entry = new Dictionary<string, object> { ["Sha256"] = sha, ["Tenant"] = tenant, ["Scopes"] = scopes };
        if (!string.IsNullOrEmpty(name)) entry["Name"] = name;
        var text = new StringBuilder();
        text.AppendLine($"key: {key}");
        text.AppendLine($"sha256: {sha}");
        text.AppendLine();
        text.AppendLine("# The key is shown once: give it to the client. Gateways are configured with its SHA-256 only.");
        text.AppendLine("# JSON entry of Router:ApiKeys (appsettings.json or the keys file {\"Router\":{\"ApiKeys\":[...]}}):");
        text.AppendLine(JsonSerializer.Serialize(entry));
        text.AppendLine();
        text.AppendLine($"# Environment variables (entry {index}):");
        text.AppendLine($"Router__ApiKeys__{index}__Sha256={sha}");
        text.AppendLine($"Router__ApiKeys__{index}__Tenant={tenant}");
        for (var i = 0; i < scopes.Count; i++) text.AppendLine($"Router__ApiKeys__{index}__Scopes__{i}={scopes[i]}");
        if (!string.IsNullOrEmpty(name)) text.AppendLine($"Router__ApiKeys__{index}__Name={name}");
        return text.ToString();
    }
}
