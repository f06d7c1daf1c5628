using Akka.Actor;
using Akka.Cluster;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Prometheus;
using Router.Actors.Metrics;

namespace Router.Gateway;

/// <summary>
/// Health, readiness and metrics of every role (standalone, node, gateway): ASP.NET Core health checks on
/// <c>/healthz</c> (liveness: no check, 200 while the process serves HTTP) and <c>/readyz</c> (readiness: the checks
/// tagged <see cref="ReadyTag"/>, among them <see cref="ClusterMemberHealthCheck"/>), and <c>/metrics</c> in the
/// Prometheus text format (prometheus-net): the <c>Router</c> meter through prometheus-net's meter adapter, the process
/// and .NET runtime basics, and <c>router_cluster_members{status}</c>.
/// </summary>
public static class RouterHealthExtensions
{
    /// <summary>The tag of the health checks that make up readiness (<c>/readyz</c>).</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// How long an idle series of the meter adapter is kept: the longest prometheus-net allows (1 day; its default is 5
    /// minutes). A counter that has not moved for that long disappears and starts again from its next increment, which
    /// Prometheus reads as a counter reset. Levels (entities, relays, connections, the re-encode queue) are observable
    /// gauges, set at every scrape, so they never go idle.
    /// </summary>
    private static readonly TimeSpan SeriesKeptFor = TimeSpan.FromDays(1);

    /// <summary>Registers the health checks (the cluster membership check, tagged <see cref="ReadyTag"/>) and the metrics exporter.</summary>
    public static IServiceCollection AddRouterHealth(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<ClusterMemberHealthCheck>("cluster-member", tags: [ReadyTag]);
        services.AddSingleton<RouterMetricsRegistry>();
        return services;
    }

    /// <summary>
    /// Maps <c>/healthz</c> (200 <c>ok</c> while the process runs), <c>/readyz</c> (200 <c>ready</c> when every readiness
    /// check is healthy, else 503 with the failing checks' descriptions, e.g. <c>cluster member is Joining</c>) and
    /// <c>/metrics</c>. Needs <see cref="AddRouterHealth"/>.
    /// </summary>
    public static WebApplication MapRouterHealth(this WebApplication app)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions
        {
            Predicate = _ => false,
            ResponseWriter = (ctx, _) => ctx.Response.WriteAsync("ok"),
        });
        app.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResponseWriter = WriteReadiness,
        });
        var registry = app.Services.GetRequiredService<RouterMetricsRegistry>();
        app.MapMetrics("/metrics", registry.Registry);
        return app;
    }

    private static Task WriteReadiness(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        if (report.Status == HealthStatus.Healthy) return context.Response.WriteAsync("ready");
        var problems = report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy)
            .Select(e => e.Value.Description ?? $"{e.Key} is {e.Value.Status}");
        return context.Response.WriteAsync(string.Join("; ", problems));
    }

    /// <summary>
    /// The Prometheus registry of one application: the <c>Router</c> meter's instruments (meter adapter, filtered to that
    /// meter), the process and runtime basics (<c>process_*</c>, <c>dotnet_*</c>), and the cluster members by status.
    /// The adapter stops listening when the application's services are disposed.
    /// </summary>
    internal sealed class RouterMetricsRegistry : IDisposable
    {
        private static readonly MemberStatus[] Statuses = Enum.GetValues<MemberStatus>();
        private readonly IDisposable _adapter;

        public RouterMetricsRegistry(ActorSystem system)
        {
            Registry = Metrics.NewCustomRegistry();
            DotNetStats.Register(Registry);
            _adapter = MeterAdapter.StartListening(new MeterAdapterOptions
            {
                Registry = Registry,
                MetricFactory = Metrics.WithCustomRegistry(Registry), // else the series land in prometheus-net's default registry
                InstrumentFilterPredicate = instrument => instrument.Meter.Name == RouterMeter.Name,
                MetricsExpireAfter = SeriesKeptFor,
            });
            var members = Metrics.WithCustomRegistry(Registry).CreateGauge("router_cluster_members",
                "Akka.NET cluster members as this member sees them, by status (joining, up, leaving, exiting, down, removed, weaklyup); unreachable ones are also counted in router_cluster_unreachable_members",
                "status");
            var unreachable = Metrics.WithCustomRegistry(Registry).CreateGauge("router_cluster_unreachable_members",
                "Akka.NET cluster members this member's failure detector marks unreachable");
            var cluster = Cluster.Get(system);
            Registry.AddBeforeCollectCallback(() =>
            {
                var state = cluster.State;
                foreach (var status in Statuses)
                    members.WithLabels(status.ToString().ToLowerInvariant()).Set(state.Members.Count(m => m.Status == status));
                unreachable.Set(state.Unreachable.Count);
            });
        }

        /// <summary>The registry <c>/metrics</c> serves.</summary>
        public CollectorRegistry Registry { get; }

        public void Dispose() => _adapter.Dispose();
    }
}

/// <summary>Readiness: healthy when this process is an <c>Up</c> member of the Akka.NET cluster.</summary>
internal sealed class ClusterMemberHealthCheck(ActorSystem system) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = Cluster.Get(system).SelfMember.Status;
        return Task.FromResult(status == MemberStatus.Up
            ? HealthCheckResult.Healthy("cluster member is Up")
            : HealthCheckResult.Unhealthy($"cluster member is {status}"));
    }
}
