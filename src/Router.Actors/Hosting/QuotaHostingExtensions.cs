using Akka.Hosting;
using Router.Actors.Quotas;

namespace Router.Actors.Hosting;

/// <summary>Registry key of the process's <see cref="QuotaUsageActor"/> (present only when a quota is configured).</summary>
public sealed class QuotaUsage;

/// <summary>Akka.Hosting extension of the per-tenant quotas (<c>Router:Quotas</c>).</summary>
public static class QuotaHostingExtensions
{
    /// <summary>
    /// Shares <paramref name="quotas"/>' usage with the cluster (every role: gateways count consumer connections and
    /// ingest bytes, nodes online cameras) through Akka.DistributedData's replicator, with a 1 s gossip interval (the
    /// fallback when a delta is lost; deltas spread within ~0.5 s). Without any configured quota it adds nothing: no
    /// replicator, no actor, no traffic.
    /// </summary>
    public static AkkaConfigurationBuilder WithTenantQuotas(this AkkaConfigurationBuilder builder, TenantQuotas quotas)
    {
        if (!quotas.Enabled) return builder;
        builder.AddHocon("akka.cluster.distributed-data.gossip-interval = 1s", HoconAddMode.Prepend);
        return builder.WithActors((system, registry) =>
            registry.Register<QuotaUsage>(system.ActorOf(QuotaUsageActor.Props(quotas), "tenant-quotas")));
    }
}
