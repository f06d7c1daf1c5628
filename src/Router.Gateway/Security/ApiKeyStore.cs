using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Router.Gateway.Security;

/// <summary>What an API key may do.</summary>
public static class ApiScopes
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

/// <summary>The tenant and scopes an API key maps to.</summary>
public sealed record ApiKeyIdentity(string Tenant, IReadOnlySet<string> Scopes, string? Name)
{
    /// <summary>True when the key has <paramref name="scope"/>.</summary>
    public bool Has(string scope) => Scopes.Contains(scope);
}

/// <summary>Options holding the configured keys (section <c>Router</c>, property <c>ApiKeys</c>).</summary>
public sealed class ApiKeyOptions
{
    /// <summary>The configured keys.</summary>
    public List<ApiKeyEntry> ApiKeys { get; set; } = [];
}

/// <summary>
/// Maps API keys to tenants: hashes the presented key with SHA-256 and compares it with every configured hash in
/// constant time (<see cref="CryptographicOperations.FixedTimeEquals"/>), so timing reveals neither which key
/// matched nor how much of it.
/// </summary>
public sealed class ApiKeyStore
{
    private readonly List<(byte[] Hash, ApiKeyIdentity Identity)> _keys = [];
    private readonly Lock _lock = new();

    /// <summary>Loads the keys of <paramref name="options"/>.</summary>
    /// <exception cref="InvalidOperationException">A configured hash is not 64 hex characters, or a tenant is empty.</exception>
    public ApiKeyStore(IOptions<ApiKeyOptions> options)
    {
        foreach (var entry in options.Value.ApiKeys) Add(entry);
    }

    /// <summary>Adds a key given its hash (e.g. the standalone demo key at start-up).</summary>
    /// <exception cref="InvalidOperationException">The hash is not 64 hex characters, or the tenant is invalid.</exception>
    public void Add(ApiKeyEntry entry)
    {
        byte[] hash;
        try { hash = Convert.FromHexString(entry.Sha256.Trim()); }
        catch (FormatException) { throw new InvalidOperationException($"API key '{entry.Name ?? entry.Tenant}': Sha256 is not hex"); }
        if (hash.Length != 32) throw new InvalidOperationException($"API key '{entry.Name ?? entry.Tenant}': Sha256 must be 64 hex characters");
        if (!Router.Actors.Identity.Identifiers.IsValidTenant(entry.Tenant, out var error)) throw new InvalidOperationException($"API key '{entry.Name}': {error}");
        var identity = new ApiKeyIdentity(entry.Tenant, new HashSet<string>(entry.Scopes, StringComparer.OrdinalIgnoreCase), entry.Name);
        lock (_lock) _keys.Add((hash, identity));
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
        }
        return match;
    }
}
