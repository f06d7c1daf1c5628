using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Router.Actors.Metrics;
using Router.Actors.Quotas;
using Router.Node;
using Xunit;

namespace Router.Tests.Quotas;

/// <summary>The per-tenant quota accounting of one process: this process's usage exact, the other members' as last known.</summary>
public sealed class TenantQuotasTests
{
    private static QuotaOptions Options(Action<QuotaOptions> configure)
    {
        var options = new QuotaOptions();
        configure(options);
        return options;
    }

    [Fact]
    public void Consumer_connections_count_this_process_plus_the_other_members_and_a_closed_lease_frees_its_slot()
    {
        var quotas = new TenantQuotas(Options(o => o.Default.MaxConsumerConnections = 3));
        quotas.SetRemote(new Dictionary<(string, Quota), long> { [("acme", Quota.ConsumerConnections)] = 2 });

        var first = quotas.TryOpenConsumer("acme", out var reason);
        Assert.NotNull(first);
        Assert.Null(reason);
        Assert.Null(quotas.TryOpenConsumer("acme", out reason));
        Assert.Equal("quota exceeded: consumer_connections of tenant acme (limit 3)", reason);

        // Another tenant is not affected: it has its own three.
        var globex = Enumerable.Range(0, 3).Select(i => quotas.TryOpenConsumer("globex", out _)).ToList();
        Assert.All(globex, Assert.NotNull);
        Assert.Null(quotas.TryOpenConsumer("globex", out _));

        first!.Dispose();
        first.Dispose(); // twice: counted once
        Assert.Equal(0, quotas.Local("acme", Quota.ConsumerConnections));
        Assert.NotNull(quotas.TryOpenConsumer("acme", out _));
        Assert.Null(quotas.TryOpenConsumer("acme", out _));

        // The other members closed theirs.
        quotas.SetRemote(new Dictionary<(string, Quota), long>());
        Assert.NotNull(quotas.TryOpenConsumer("acme", out _));
    }

    [Fact]
    public void A_tenants_own_values_replace_the_default_one_by_one_and_an_unset_quota_counts_nothing()
    {
        var options = Options(o =>
        {
            o.Default.MaxOnlineCameras = 2;
            o.Default.MaxConsumerConnections = 5;
            o.Tenants["acme"] = new TenantQuota { MaxConsumerConnections = 1 };
        });
        var acme = options.For("acme");
        Assert.Equal(1, acme.MaxConsumerConnections);
        Assert.Equal(2, acme.MaxOnlineCameras);
        Assert.Null(acme.MaxIngestBytesPerSecond);

        var quotas = new TenantQuotas(options);
        Assert.NotNull(quotas.TryOpenConsumer("acme", out _));
        Assert.Null(quotas.TryOpenConsumer("acme", out _));
        for (var i = 0; i < 100; i++) Assert.True(quotas.TryIngest("acme", 1_000_000, out _)); // no byte quota: unlimited
        Assert.DoesNotContain(quotas.LocalUsage(), u => u.Quota == Quota.IngestBytesPerSecond);

        var none = new TenantQuotas(new QuotaOptions());
        Assert.False(none.Enabled);
        for (var i = 0; i < 100; i++) Assert.NotNull(none.TryOpenConsumer("acme", out _));
        Assert.Empty(none.LocalUsage());
    }

    [Fact]
    public void Ingest_bytes_are_measured_over_the_last_second_with_the_other_members_rate_added()
    {
        long now = 10_000;
        var quotas = new TenantQuotas(Options(o => o.Tenants["acme"] = new TenantQuota { MaxIngestBytesPerSecond = 1000 }), () => now);
        quotas.SetRemote(new Dictionary<(string, Quota), long> { [("acme", Quota.IngestBytesPerSecond)] = 300 });

        Assert.True(quotas.TryIngest("acme", 500, out _));
        Assert.True(quotas.IngestActive);
        now += 400;
        Assert.False(quotas.TryIngest("acme", 300, out var reason)); // 500 + 300 + 300 remote > 1000
        Assert.Equal("quota exceeded: ingest_bytes_per_second of tenant acme (limit 1000)", reason);
        Assert.True(quotas.TryIngest("acme", 200, out _)); // exactly 1000
        Assert.Equal(700, quotas.Local("acme", Quota.IngestBytesPerSecond));
        Assert.Contains(("acme", Quota.IngestBytesPerSecond, 700L), quotas.LocalUsage());
        Assert.False(quotas.EndIngestIfIdle());
        Assert.True(quotas.TryIngest("globex", 1_000_000, out _)); // globex has no quota

        now += 700; // the first 500 bytes have left the window
        Assert.Equal(200, quotas.Local("acme", Quota.IngestBytesPerSecond));
        Assert.True(quotas.TryIngest("acme", 500, out _));
        now += 1000;
        Assert.Equal(0, quotas.Local("acme", Quota.IngestBytesPerSecond));
        Assert.True(quotas.EndIngestIfIdle());
        Assert.False(quotas.IngestActive);
        Assert.Empty(quotas.LocalUsage());

        // A frame larger than the quota never fits.
        quotas.SetRemote(new Dictionary<(string, Quota), long>());
        Assert.False(quotas.TryIngest("acme", 1001, out _));
        Assert.True(quotas.TryIngest("acme", 1000, out _));
    }

    [Fact]
    public void Online_camera_slots_are_taken_and_given_back()
    {
        var quotas = new TenantQuotas(Options(o => o.Default.MaxOnlineCameras = 2));
        Assert.True(quotas.TryTakeCamera("acme", out _));
        quotas.SetRemote(new Dictionary<(string, Quota), long> { [("acme", Quota.OnlineCameras)] = 1 });
        Assert.False(quotas.TryTakeCamera("acme", out var reason));
        Assert.Equal("quota exceeded: online_cameras of tenant acme (limit 2)", reason);
        Assert.True(quotas.TryTakeCamera("globex", out _));
        quotas.ReleaseCamera("acme");
        Assert.True(quotas.TryTakeCamera("acme", out _));
        Assert.Contains(("acme", Quota.OnlineCameras, 1L), quotas.LocalUsage());
    }

    [Fact]
    public void A_burst_of_changes_notifies_once_until_taken()
    {
        var quotas = new TenantQuotas(Options(o => o.Default.MaxConsumerConnections = 100));
        var notified = 0;
        quotas.Attach(() => Interlocked.Increment(ref notified));
        var leases = Enumerable.Range(0, 10).Select(i => quotas.TryOpenConsumer("acme", out _)!).ToList();
        Assert.Equal(1, notified);
        quotas.TakeChange();
        leases[0].Dispose();
        leases[1].Dispose();
        Assert.Equal(2, notified);
        Assert.Contains(("acme", Quota.ConsumerConnections, 8L), quotas.LocalUsage());
    }

    [Fact]
    public void Refusals_are_counted_by_tenant_and_quota()
    {
        var counted = new List<(long Value, string? Tenant, string? Quota)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == RouterMeter.Name && instrument.Name == "router.quota.refused") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? tenant = null, quota = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "tenant") tenant = tag.Value as string;
                if (tag.Key == "quota") quota = tag.Value as string;
            }
            if (tenant == "quota-metric-tenant") lock (counted) counted.Add((value, tenant, quota));
        });
        listener.Start();

        var quotas = new TenantQuotas(Options(o => o.Default.MaxConsumerConnections = 0));
        Assert.Null(quotas.TryOpenConsumer("quota-metric-tenant", out _));
        Assert.Null(quotas.TryOpenConsumer("quota-metric-tenant", out _));
        lock (counted) Assert.Equal([(1L, "quota-metric-tenant", "consumer_connections"), (1L, "quota-metric-tenant", "consumer_connections")], counted);
    }

    [Fact]
    public void The_other_members_usage_is_summed_without_this_member_and_without_members_that_left()
    {
        const string self = "akka.tcp://router@127.0.0.1:1#1", g2 = "akka.tcp://router@127.0.0.1:2#2", g3 = "akka.tcp://router@127.0.0.1:3#3";
        const string gone = "akka.tcp://router@127.0.0.1:4#4";
        var entries = new Dictionary<string, long>
        {
            [QuotaUsageActor.EntryKey(self, "acme", Quota.ConsumerConnections)] = 5,
            [QuotaUsageActor.EntryKey(g2, "acme", Quota.ConsumerConnections)] = 2,
            [QuotaUsageActor.EntryKey(g3, "acme", Quota.ConsumerConnections)] = 1,
            [QuotaUsageActor.EntryKey(g3, "acme.eu-1", Quota.IngestBytesPerSecond)] = 1000,
            [QuotaUsageActor.EntryKey(gone, "acme", Quota.ConsumerConnections)] = 7,
            ["not-a-usage-key"] = 9,
        };
        var sums = QuotaUsageActor.SumRemote(entries, self, new HashSet<string> { self, g2, g3 });
        Assert.Equal(3, sums[("acme", Quota.ConsumerConnections)]);
        Assert.Equal(1000, sums[("acme.eu-1", Quota.IngestBytesPerSecond)]);
        Assert.Equal(2, sums.Count);
        Assert.True(QuotaUsageActor.TryParseEntryKey(QuotaUsageActor.EntryKey(g2, "acme.eu-1", Quota.OnlineCameras), out var member, out var tenant, out var quota));
        Assert.Equal((g2, "acme.eu-1", Quota.OnlineCameras), (member, tenant, quota));
    }

    [Fact]
    public void Settings_are_checked_at_start_up_per_tenant_and_per_key()
    {
        var problems = QuotaOptionsValidator.Problems(Options(o =>
        {
            o.Default.MaxOnlineCameras = -1;
            o.Tenants["Bad Tenant"] = new TenantQuota { MaxIngestBytesPerSecond = -5 };
            o.Tenants["acme"] = new TenantQuota { MaxConsumerConnections = 0 };
        }));
        Assert.Contains(problems, p => p.StartsWith("Router:Quotas:Default:MaxOnlineCameras (-1) must be at least 0", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Router:Quotas:Tenants:Bad Tenant:", StringComparison.Ordinal) && p.Contains("tenant"));
        Assert.Contains(problems, p => p.StartsWith("Router:Quotas:Tenants:Bad Tenant:MaxIngestBytesPerSecond (-5)", StringComparison.Ordinal));
        Assert.Equal(3, problems.Count);

        // The configuration surface knows the tenant keys (any tenant) and their settings, and nothing else.
        var surface = RouterNodeApp.ConfigurationSurface;
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Router:Quotas:Default:MaxOnlineCameras"] = "10",
            ["Router:Quotas:Tenants:acme:MaxConsumerConnections"] = "3",
            ["Router:Quotas:Tenants:globex:MaxIngestBytes"] = "3",
        }).Build();
        var found = surface.Problems(config);
        Assert.Single(found);
        Assert.Contains("Router:Quotas:Tenants:globex:MaxIngestBytes is not a known setting (did you mean Router:Quotas:Tenants:globex:MaxIngestBytesPerSecond?", found[0]);
        Assert.Null(surface.WhyNotRead("Router__Quotas__Tenants__acme__MaxOnlineCameras", Router.Actors.Hosting.RouterSettingRoles.Gateway));
        Assert.NotNull(surface.WhyNotRead("Router__Quotas__Tenants__acme__MaxCameras", Router.Actors.Hosting.RouterSettingRoles.Node));
        var bound = config.GetSection("Router:Quotas").Get<QuotaOptions>()!;
        Assert.Equal(3, bound.For("acme").MaxConsumerConnections);
        Assert.Equal(10, bound.For("acme").MaxOnlineCameras);
    }
}
