using Microsoft.Extensions.Options;
using Router.Protocol;

namespace Router.Actors.Quotas;

/// <summary>
/// Per-tenant quotas, enforced across the cluster (configuration section <c>Router:Quotas</c>): <see cref="Default"/>
/// applies to every tenant, <see cref="Tenants"/> (<c>Router:Quotas:Tenants:&lt;tenant&gt;</c>) replaces it value by
/// value for one tenant. A quota that is not set (in either) is unlimited, and nothing is counted for it.
/// </summary>
public sealed class QuotaOptions
{
    /// <summary>The quotas of every tenant without its own value (<c>Router:Quotas:Default</c>).</summary>
    public TenantQuota Default { get; set; } = new();

    /// <summary>Quotas of single tenants, by tenant (<c>Router:Quotas:Tenants:acme:MaxConsumerConnections</c>).</summary>
    public Dictionary<string, TenantQuota> Tenants { get; set; } = new(StringComparer.Ordinal);

    /// <summary>True when at least one quota is set (else no usage is counted or shared).</summary>
    public bool Any => Default.Any || Tenants.Values.Any(t => t.Any);

    /// <summary>The effective quotas of <paramref name="tenant"/>: its own values, else the default ones.</summary>
    public TenantQuota For(string tenant)
    {
        if (!Tenants.TryGetValue(tenant, out var own)) return Default;
        return new TenantQuota
        {
            MaxOnlineCameras = own.MaxOnlineCameras ?? Default.MaxOnlineCameras,
            MaxConsumerConnections = own.MaxConsumerConnections ?? Default.MaxConsumerConnections,
            MaxIngestBytesPerSecond = own.MaxIngestBytesPerSecond ?? Default.MaxIngestBytesPerSecond,
        };
    }
}

/// <summary>The quotas of one tenant across the whole cluster; null (not set) is unlimited.</summary>
public sealed class TenantQuota
{
    /// <summary>
    /// Cameras of the tenant online at once (a camera is online from its first accepted frame until
    /// <c>Router:Camera:OfflineAfter</c> without frames). The frames of a camera beyond it are refused.
    /// </summary>
    public int? MaxOnlineCameras { get; set; }

    /// <summary>Consumer WebSocket connections of the tenant open at once, over every gateway.</summary>
    public int? MaxConsumerConnections { get; set; }

    /// <summary>
    /// Frame bytes per second the tenant's devices may push (device WebSocket and HTTP ingest), summed over every
    /// gateway, measured over the last second. A frame larger than this is always refused.
    /// </summary>
    public long? MaxIngestBytesPerSecond { get; set; }

    /// <summary>True when at least one quota is set.</summary>
    public bool Any => MaxOnlineCameras is not null || MaxConsumerConnections is not null || MaxIngestBytesPerSecond is not null;

    /// <summary>The limit of <paramref name="quota"/>, or null when unlimited.</summary>
    public long? Limit(Quota quota) => quota switch
    {
        Quota.OnlineCameras => MaxOnlineCameras,
        Quota.ConsumerConnections => MaxConsumerConnections,
        Quota.IngestBytesPerSecond => MaxIngestBytesPerSecond,
        _ => null,
    };
}

/// <summary>
/// Checks <c>Router:Quotas</c>: every value at least 0 (0 refuses everything of that kind, e.g. to suspend a tenant's
/// viewers), and tenants that are valid tenant identifiers.
/// </summary>
public sealed class QuotaOptionsValidator : IValidateOptions<QuotaOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, QuotaOptions options)
    {
        var errors = Problems(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Every problem of <paramref name="options"/>, each naming its key; empty when valid.</summary>
    public static IReadOnlyList<string> Problems(QuotaOptions options)
    {
        var errors = new List<string>();
        void Check(string at, TenantQuota quota)
        {
            foreach (var q in Enum.GetValues<Quota>())
                if (quota.Limit(q) is < 0 and var value)
                    errors.Add($"{at}:{QuotaNames.Setting(q)} ({value}) must be at least 0");
        }
        Check("Router:Quotas:Default", options.Default);
        foreach (var (tenant, quota) in options.Tenants)
        {
            if (!Identifiers.IsValidTenant(tenant, out var error)) errors.Add($"Router:Quotas:Tenants:{tenant}: {error}");
            Check($"Router:Quotas:Tenants:{tenant}", quota);
        }
        return errors;
    }
}
