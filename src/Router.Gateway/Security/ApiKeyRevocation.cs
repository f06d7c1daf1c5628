using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Router.Actors.Metrics;

namespace Router.Gateway.Security;

/// <summary>
/// An open connection authenticated with an API key for one scope (<see cref="ApiKeyStore.Track"/>).
/// <see cref="Revoked"/> is cancelled when the key no longer grants that scope to that tenant (removed from the keys
/// file, moved to another tenant, or the scope taken away). Dispose when the connection ends.
/// </summary>
internal sealed class ApiKeyLease : IDisposable
{
    private readonly CancellationTokenSource _revoked = new();
    private readonly ConcurrentDictionary<ApiKeyLease, byte> _registry;

    internal ApiKeyLease(ApiKeyIdentity identity, string scope, ConcurrentDictionary<ApiKeyLease, byte> registry, string revokedReason = ApiKeyStore.RevokedReason)
    {
        Identity = identity;
        Scope = scope;
        RevokedReason = revokedReason;
        _registry = registry;
        Revoked = _revoked.Token;
    }

    /// <summary>The identity the connection authenticated with.</summary>
    public ApiKeyIdentity Identity { get; }

    /// <summary>The scope the connection uses (<see cref="ApiScopes"/>).</summary>
    public string Scope { get; }

    /// <summary>The close reason when <see cref="Revoked"/> fires (<c>api key revoked</c>, or for a viewer token <c>token signing key revoked</c>).</summary>
    public string RevokedReason { get; }

    /// <summary>Cancelled when the key is revoked for this connection.</summary>
    public CancellationToken Revoked { get; }

    internal void Revoke()
    {
        try { _revoked.Cancel(); } catch (ObjectDisposedException) { }
    }

    public void Dispose()
    {
        _registry.TryRemove(this, out _);
        _revoked.Dispose();
    }
}

/// <summary>
/// API key counters on the shared <see cref="RouterMeter.Meter"/>: <c>router.api_key.revoked_connections</c> (open
/// connections closed because their API key was revoked; tags <c>tenant</c>, <c>kind</c> = <c>device</c> or
/// <c>consumer</c>) and <c>router.api_key.file_reloads</c> (keys file reloads; tag <c>result</c> = <c>applied</c> or
/// <c>rejected</c>).
/// </summary>
internal static class ApiKeyMetrics
{
    private static readonly Counter<long> ReloadCounter =
        RouterMeter.Meter.CreateCounter<long>("router.api_key.file_reloads", "{reload}", "keys file reloads, applied or rejected (the previous keys stay)");

    /// <summary>Counts one reload of the keys file.</summary>
    public static void FileReloaded(bool applied) =>
        ReloadCounter.Add(1, new KeyValuePair<string, object?>("result", applied ? "applied" : "rejected"));

    private static readonly Counter<long> RevokedCounter =
        RouterMeter.Meter.CreateCounter<long>("router.api_key.revoked_connections", "{connection}", "open connections closed because their API key was revoked");

    /// <summary>Counts one connection of <paramref name="tenant"/> closed by a revocation.</summary>
    public static void ConnectionClosed(string tenant, string kind) =>
        RevokedCounter.Add(1, new KeyValuePair<string, object?>("tenant", tenant), new KeyValuePair<string, object?>("kind", kind));
}

internal sealed partial class ApiKeyStore
{
    // Open connections per key; bounded by the gateway's connection limits (each entry is one open WebSocket).
    private readonly ConcurrentDictionary<ApiKeyLease, byte> _leases = new();

    /// <summary>The reason sent when a connection is closed because its key was revoked.</summary>
    public const string RevokedReason = "api key revoked";

    /// <summary>
    /// Registers an open connection authenticated as <paramref name="identity"/> for <paramref name="scope"/>; its
    /// <see cref="ApiKeyLease.Revoked"/> fires when a reload takes the grant away (at once if it already has).
    /// </summary>
    public ApiKeyLease Track(ApiKeyIdentity identity, string scope)
    {
        var lease = new ApiKeyLease(identity, scope, _leases);
        _leases[lease] = 0;
        if (!StillGrants(identity, scope)) lease.Revoke(); // a reload between Authenticate and Track
        return lease;
    }

    /// <summary>Open connections registered with <see cref="Track"/>.</summary>
    public int TrackedConnections => _leases.Count;

    /// <summary>
    /// Replaces the keys of the keys file with <paramref name="entries"/> when they are valid together with the other
    /// configured keys, then revokes the open connections whose key no longer grants their scope to their tenant.
    /// Returns the problems (each naming the entry, prefixed with <paramref name="source"/>); on any problem nothing changes.
    /// </summary>
    public IReadOnlyList<string> ReplaceFileKeys(IReadOnlyList<ApiKeyEntry> entries, string source, out int revoked)
    {
        revoked = 0;
        var errors = Validate(new ApiKeyOptions { ApiKeys = entries.ToList() }).Select(e => $"{source}: {e}").ToList();
        if (errors.Count > 0) return errors;
        var keys = entries.Select(ToKey).ToArray();
        lock (_lock)
        {
            var configured = _keys.Select(k => k.Identity.KeyHash).ToHashSet(StringComparer.Ordinal);
            for (var i = 0; i < keys.Length; i++)
                if (configured.Contains(keys[i].Identity.KeyHash))
                    errors.Add($"{source}: Router:ApiKeys:{i}: the same Sha256 as a key configured elsewhere (one key, one tenant)");
            if (errors.Count > 0) return errors;
            _fileKeys = keys;
        }
        foreach (var lease in _leases.Keys)
        {
            if (StillGrants(lease.Identity, lease.Scope)) continue;
            lease.Revoke();
            revoked++;
        }
        return errors;
    }

    private bool StillGrants(ApiKeyIdentity identity, string scope)
    {
        lock (_lock)
        {
            foreach (var (_, current) in _keys.Concat(_fileKeys))
                if (current.KeyHash == identity.KeyHash)
                    return current.Tenant == identity.Tenant && current.Has(scope);
        }
        return false;
    }
}
