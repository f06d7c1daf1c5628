namespace Router.Actors.Quotas;

/// <summary>The per-tenant quotas (<see cref="TenantQuota"/>).</summary>
public enum Quota
{
    /// <summary>Cameras online at once (<see cref="TenantQuota.MaxOnlineCameras"/>), counted where the camera entities run.</summary>
    OnlineCameras,

    /// <summary>Consumer connections open at once (<see cref="TenantQuota.MaxConsumerConnections"/>), counted by the gateways.</summary>
    ConsumerConnections,

    /// <summary>Ingest bytes per second (<see cref="TenantQuota.MaxIngestBytesPerSecond"/>), measured by the gateways.</summary>
    IngestBytesPerSecond,
}

/// <summary>Names of the quotas: in refusals (reasons, the <c>quota</c> field and metric tag) and in settings.</summary>
public static class QuotaNames
{
    /// <summary>The wire and metric name: <c>online_cameras</c>, <c>consumer_connections</c>, <c>ingest_bytes_per_second</c>.</summary>
    public static string Of(Quota quota) => quota switch
    {
        Quota.OnlineCameras => "online_cameras",
        Quota.ConsumerConnections => "consumer_connections",
        Quota.IngestBytesPerSecond => "ingest_bytes_per_second",
        _ => quota.ToString(),
    };

    /// <summary>The property of <see cref="TenantQuota"/> that sets <paramref name="quota"/>.</summary>
    public static string Setting(Quota quota) => quota switch
    {
        Quota.OnlineCameras => nameof(TenantQuota.MaxOnlineCameras),
        Quota.ConsumerConnections => nameof(TenantQuota.MaxConsumerConnections),
        Quota.IngestBytesPerSecond => nameof(TenantQuota.MaxIngestBytesPerSecond),
        _ => quota.ToString(),
    };

    /// <summary>The refusal reason, naming the quota, the tenant and the limit (fits a WebSocket close reason for tenants up to 60 characters).</summary>
    public static string Reason(Quota quota, string tenant, long limit) =>
        $"quota exceeded: {Of(quota)} of tenant {tenant} (limit {limit})";
}
