using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Router.Gateway.Security;

/// <summary>What an API key may do.</summary>
internal static class ApiScopes
{
    /// <summary>Push frames (device WebSocket, HTTP ingest).</summary>
    public const string Ingest = "ingest";

    /// <summary>Watch streams (consumer WebSocket, REST, snapshots).</summary>
    public const string View = "view";
}

/// <summary>
/// One configured API key (configuration <c>Router:ApiKeys:N</c>, e.g. environment
/// <c>Router__ApiKeys__0__Sha256</c>). Only the SHA-256 hash of the key is configured, never the key.
/// </summary>
public sealed class ApiKeyEntry
{
    /// <summary>Lower- or upper-case hex SHA-256 of the UTF-8 key (64 hex characters).</summary>
    public string Sha256 { get; set; } = string.Empty;

    /// <summary>The tenant the key belongs to.</summary>
    public string Tenant { get; set; } = string.Empty;

    /// <summary>Granted scopes: <c>ingest</c>, <c>view</c>.</summary>
    public List<string> Scopes { get; set; } = [];

    /// <summary>Optional label for logs (the key itself is never logged).</summary>
    public string? Name { get; set; }
}

/// <summary>
/// The tenant and scopes an API key maps to (<paramref name="KeyHash"/>: the key's lower-case hex SHA-256), or, with a
/// <paramref name="Grant"/>, what a viewer token grants (scope <c>view</c> only, no key hash).
/// </summary>
internal sealed record ApiKeyIdentity(string Tenant, IReadOnlySet<string> Scopes, string? Name, string KeyHash = "", ViewerGrant? Grant = null)
{
    /// <summary>The identity of a valid viewer token.</summary>
    public static ApiKeyIdentity ForToken(ViewerGrant grant) =>
        new(grant.Tenant, new HashSet<string> { ApiScopes.View }, "viewer token", string.Empty, grant);

    /// <summary>True when the key has <paramref name="scope"/>.</summary>
    public bool Has(string scope) => Scopes.Contains(scope);
}

/// <summary>Options holding the configured keys (section <c>Router</c>, property <c>ApiKeys</c>).</summary>
public sealed class ApiKeyOptions
{
    /// <summary>The configured keys.</summary>
    public List<ApiKeyEntry> ApiKeys { get; set; } = [];

    /// <summary>
    /// Optional path of a JSON keys file (<c>{"Router":{"ApiKeys":[…]}}</c>, e.g. a mounted Kubernetes Secret) whose keys
    /// are added to <see cref="ApiKeys"/> and re-read when it changes (polled every 4 s). Invalid at start: the host
    /// does not start; invalid later: the previous keys stay and the problems are logged.
    /// </summary>
    public string? ApiKeysFile { get; set; }
}

/// <summary>
/// Maps API keys to tenants: hashes the presented key with SHA-256 and compares it with every configured hash in
/// constant time (<see cref="CryptographicOperations.FixedTimeEquals"/>), so timing reveals neither which key
/// matched nor how much of it.
/// </summary>
internal sealed partial class ApiKeyStore
{
    private readonly List<(byte[] Hash, ApiKeyIdentity Identity)> _keys = [];
    private readonly Lock _lock = new();
    // Keys of the keys file (ApiKeysFile), replaced as a whole on each valid reload.
    private (byte[] Hash, ApiKeyIdentity Identity)[] _fileKeys = [];

    /// <summary>Loads the keys of <paramref name="options"/>.</summary>
    /// <exception cref="OptionsValidationException">The keys are invalid (see <see cref="Validate(ApiKeyOptions)"/>).</exception>
    public ApiKeyStore(IOptions<ApiKeyOptions> options)
    {
        var keys = options.Value; // with AddRouterGateway's validator this already throws on invalid keys
        var errors = Validate(keys);
        if (errors.Count > 0) throw new OptionsValidationException(Options.DefaultName, typeof(ApiKeyOptions), errors);
        foreach (var entry in keys.ApiKeys) Add(entry);
    }

    /// <summary>
    /// Every problem of the configured keys, each naming the entry (<c>Router:ApiKeys:N</c>): a Sha256 that is not
    /// 64 hex characters, an invalid tenant, no scopes or an unknown scope, the same hash twice. Empty when valid.
    /// </summary>
    public static IReadOnlyList<string> Validate(ApiKeyOptions options)
    {
        var errors = new List<string>();
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            var entry = options.ApiKeys[i];
            var at = $"Router:ApiKeys:{i}{(string.IsNullOrEmpty(entry.Name) ? string.Empty : $" ('{entry.Name}')")}";
            if (!TryValidate(entry, out var error)) errors.Add($"{at}: {error}");
            else if (seen.TryGetValue(entry.Sha256.Trim(), out var first)) errors.Add($"{at}: the same Sha256 as Router:ApiKeys:{first} (one key, one tenant)");
            else seen[entry.Sha256.Trim()] = i;
        }
        return errors;
    }

    /// <summary>Checks one entry: a 64-hex-character Sha256, a valid tenant, and one or more known scopes.</summary>
    public static bool TryValidate(ApiKeyEntry entry, out string? error)
    {
        var sha = entry.Sha256?.Trim() ?? string.Empty;
        if (sha.Length != 64 || !sha.All(char.IsAsciiHexDigit))
        {
            error = $"Sha256 must be the 64 hex characters of the key's SHA-256 (got {sha.Length} characters{(sha.All(char.IsAsciiHexDigit) ? string.Empty : ", not all hex")})";
            return false;
        }
        if (!Router.Protocol.Identifiers.IsValidTenant(entry.Tenant, out error)) return false;
        if (entry.Scopes is not { Count: > 0 })
        {
            error = $"Scopes is empty (give {ApiScopes.Ingest} and/or {ApiScopes.View})";
            return false;
        }
        foreach (var scope in entry.Scopes)
        {
            if (!KnownScopes.Contains(scope ?? string.Empty))
            {
                error = $"unknown scope '{scope}' (scopes are {ApiScopes.Ingest} and {ApiScopes.View})";
                return false;
            }
        }
        error = null;
        return true;
    }

    private static readonly HashSet<string> KnownScopes = new(StringComparer.OrdinalIgnoreCase) { ApiScopes.Ingest, ApiScopes.View };

    /// <summary>Adds a key given its hash (e.g. the standalone demo key at start-up).</summary>
    /// <exception cref="InvalidOperationException">The entry is invalid (see <see cref="TryValidate"/>).</exception>
    public void Add(ApiKeyEntry entry)
    {
        if (!TryValidate(entry, out var error)) throw new InvalidOperationException($"API key '{entry.Name ?? entry.Tenant}': {error}");
        lock (_lock) _keys.Add(ToKey(entry));
    }

    private static (byte[] Hash, ApiKeyIdentity Identity) ToKey(ApiKeyEntry entry)
    {
        var hash = Convert.FromHexString(entry.Sha256.Trim());
        return (hash, new ApiKeyIdentity(entry.Tenant, new HashSet<string>(entry.Scopes, StringComparer.OrdinalIgnoreCase), entry.Name,
            Convert.ToHexStringLower(hash)));
    }

    /// <summary>Hex SHA-256 of a key, as configured in <see cref="ApiKeyEntry.Sha256"/>.</summary>
    public static string HashKey(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Returns the identity of <paramref name="key"/>, or null when the key is empty or unknown.</summary>
    public ApiKeyIdentity? Authenticate(string? key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > 4096) return null;
        Span<byte> presented = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), presented);
        ApiKeyIdentity? match = null;
        lock (_lock)
        {
            // Compare against every key, without an early exit.
            foreach (var (hash, identity) in _keys)
                if (CryptographicOperations.FixedTimeEquals(hash, presented)) match ??= identity;
            foreach (var (hash, identity) in _fileKeys)
                if (CryptographicOperations.FixedTimeEquals(hash, presented)) match ??= identity;
        }
        return match;
    }
}

/// <summary>
/// Validates <see cref="ApiKeyOptions"/> with <see cref="ApiKeyStore.Validate(ApiKeyOptions)"/>. Registered with
/// <c>ValidateOnStart</c> by <see cref="GatewayHostingExtensions.AddRouterGateway"/>, so a bad key stops the host at
/// start-up (<see cref="OptionsValidationException"/>, one message per problem) instead of failing the first request.
/// </summary>
internal sealed class ApiKeyOptionsValidator : IValidateOptions<ApiKeyOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiKeyOptions options)
    {
        var errors = ApiKeyStore.Validate(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
