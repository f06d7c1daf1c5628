using System.Collections.Concurrent;
using System.Collections.Frozen;
using Microsoft.Extensions.Options;
using Router.Actors.Metrics;

namespace Router.Actors.Quotas;

/// <summary>
/// The per-tenant quota accounting of one process (thread-safe): what this process uses now (consumer connections it
/// holds, ingest bytes it took in the last second, cameras online among its camera entities), exact, plus the last
/// known usage of every other member (shared through Akka.DistributedData by the quota actor, see
/// <see cref="Hosting.QuotaHostingExtensions.WithTenantQuotas"/>). A request is admitted when this process's usage
/// plus the other members' stays within the quota. Only tenants with a quota set are counted; with no quota
/// configured nothing is counted and nothing is shared.
/// </summary>
public sealed class TenantQuotas
{
    /// <summary>Length of the ingest rate window, in ms (the rate is the bytes of the last second).</summary>
    internal const int WindowMs = 1000;

    private const int SlotMs = 100;
    private const int Slots = WindowMs / SlotMs;

    private readonly QuotaOptions _options;
    private readonly Func<long> _clock;
    private readonly ConcurrentDictionary<string, TenantUsage> _usage = new(StringComparer.Ordinal);
    private FrozenDictionary<(string Tenant, Quota Quota), long> _remote = FrozenDictionary<(string, Quota), long>.Empty;
    private Action? _onChange;
    private int _changePending;
    private int _ingestActive;

    /// <summary>Accounting for <paramref name="options"/> (<c>Router:Quotas</c>).</summary>
    public TenantQuotas(IOptions<QuotaOptions> options) : this(options.Value)
    {
        if (Enabled) QuotaMetrics.Track(this);
    }

    /// <summary>Accounting for <paramref name="options"/>; <paramref name="clock"/> (ms, monotonic) is for tests.</summary>
    internal TenantQuotas(QuotaOptions options, Func<long>? clock = null)
    {
        _options = options;
        Enabled = options.Any;
        _clock = clock ?? (() => Environment.TickCount64);
    }

    /// <summary>No quota at all: every check admits.</summary>
    public static TenantQuotas Unlimited { get; } = new(new QuotaOptions());

    /// <summary>True when at least one quota is configured.</summary>
    public bool Enabled { get; }

    private sealed class TenantUsage(TenantQuota quota)
    {
        public readonly Lock Lock = new();
        public readonly TenantQuota Quota = quota;
        public int Consumers;
        public int Cameras;
        public readonly long[] SlotBytes = new long[Slots];
        public readonly long[] SlotIndex = new long[Slots];

        /// <summary>Bytes of the window ending at <paramref name="nowMs"/>. Call under <see cref="Lock"/>.</summary>
        public long WindowBytes(long nowMs)
        {
            var current = nowMs / SlotMs;
            long sum = 0;
            for (var i = 0; i < Slots; i++)
                if (current - SlotIndex[i] < Slots) sum += SlotBytes[i];
            return sum;
        }

        /// <summary>Adds <paramref name="bytes"/> to the slot of <paramref name="nowMs"/>. Call under <see cref="Lock"/>.</summary>
        public void AddBytes(long nowMs, long bytes)
        {
            var current = nowMs / SlotMs;
            var i = (int)(current % Slots);
            if (SlotIndex[i] != current)
            {
                SlotIndex[i] = current;
                SlotBytes[i] = 0;
            }
            SlotBytes[i] += bytes;
        }
    }

    /// <summary>
    /// Admits a consumer connection of <paramref name="tenant"/>: returns its lease (dispose it when the connection
    /// ends), or null and the <paramref name="reason"/> when the tenant holds <see cref="TenantQuota.MaxConsumerConnections"/>
    /// connections over the cluster.
    /// </summary>
    public IDisposable? TryOpenConsumer(string tenant, out string? reason)
    {
        reason = null;
        if (Usage(tenant, Quota.ConsumerConnections) is not { } usage) return NoLease.Instance;
        return TryCount(usage, tenant, Quota.ConsumerConnections, out reason) ? new ConsumerLease(this, usage) : null;
    }

    /// <summary>
    /// Admits <paramref name="bytes"/> of frame data of <paramref name="tenant"/> and counts them; false and the
    /// <paramref name="reason"/> when they would take the tenant over <see cref="TenantQuota.MaxIngestBytesPerSecond"/>
    /// (refused bytes are not counted).
    /// </summary>
    public bool TryIngest(string tenant, long bytes, out string? reason)
    {
        reason = null;
        if (Usage(tenant, Quota.IngestBytesPerSecond) is not { } usage) return true;
        var now = _clock();
        lock (usage.Lock)
        {
            var limit = usage.Quota.MaxIngestBytesPerSecond!.Value;
            if (usage.WindowBytes(now) + bytes + Remote(tenant, Quota.IngestBytesPerSecond) > limit)
            {
                reason = Refuse(tenant, Quota.IngestBytesPerSecond, limit);
                return false;
            }
            usage.AddBytes(now, bytes);
        }
        // The first bytes after a quiet spell start the quota actor's rate publication (it stops again when idle).
        if (Volatile.Read(ref _ingestActive) == 0 && Interlocked.Exchange(ref _ingestActive, 1) == 0) Notify();
        return true;
    }

    /// <summary>
    /// Takes an online-camera slot of <paramref name="tenant"/> for a camera going online; false and the
    /// <paramref name="reason"/> when the tenant has <see cref="TenantQuota.MaxOnlineCameras"/> cameras online over
    /// the cluster. Each taken slot is given back with <see cref="ReleaseCamera"/>.
    /// </summary>
    public bool TryTakeCamera(string tenant, out string? reason)
    {
        reason = null;
        return Usage(tenant, Quota.OnlineCameras) is not { } usage || TryCount(usage, tenant, Quota.OnlineCameras, out reason);
    }

    /// <summary>Gives back a slot taken with <see cref="TryTakeCamera"/> (the camera went offline or stopped).</summary>
    public void ReleaseCamera(string tenant)
    {
        if (Usage(tenant, Quota.OnlineCameras) is not { } usage) return;
        lock (usage.Lock) usage.Cameras = Math.Max(0, usage.Cameras - 1);
        Changed();
    }

    /// <summary>The last known usage of <paramref name="quota"/> by <paramref name="tenant"/> on the other members.</summary>
    public long Remote(string tenant, Quota quota) => Volatile.Read(ref _remote).GetValueOrDefault((tenant, quota));

    /// <summary>This process's usage of <paramref name="quota"/> by <paramref name="tenant"/> (bytes/s for the ingest quota).</summary>
    public long Local(string tenant, Quota quota)
    {
        if (!_usage.TryGetValue(tenant, out var usage)) return 0;
        lock (usage.Lock)
            return quota switch
            {
                Quota.ConsumerConnections => usage.Consumers,
                Quota.OnlineCameras => usage.Cameras,
                _ => usage.WindowBytes(_clock()),
            };
    }

    /// <summary>
    /// The usage over the cluster (this process's plus the others' last known) of every quota set for a tenant this
    /// process or another member uses, for <see cref="QuotaMetrics"/>.
    /// </summary>
    internal List<(string Tenant, Quota Quota, long Value)> Usage()
    {
        var result = new List<(string, Quota, long)>();
        var tenants = _usage.Keys.Concat(Volatile.Read(ref _remote).Keys.Select(k => k.Tenant)).Distinct(StringComparer.Ordinal);
        foreach (var tenant in tenants)
        {
            var limits = _options.For(tenant);
            foreach (var quota in Enum.GetValues<Quota>())
                if (limits.Limit(quota) is not null) result.Add((tenant, quota, Local(tenant, quota) + Remote(tenant, quota)));
        }
        return result;
    }

    /// <summary>Replaces the other members' usage (by the quota actor, when the replicated usage changed).</summary>
    internal void SetRemote(IReadOnlyDictionary<(string Tenant, Quota Quota), long> remote) =>
        Volatile.Write(ref _remote, remote.ToFrozenDictionary());

    /// <summary>This process's non-zero usage, for publication.</summary>
    internal List<(string Tenant, Quota Quota, long Value)> LocalUsage()
    {
        var now = _clock();
        var result = new List<(string, Quota, long)>();
        foreach (var (tenant, usage) in _usage)
            lock (usage.Lock)
            {
                if (usage.Consumers > 0) result.Add((tenant, Quota.ConsumerConnections, usage.Consumers));
                if (usage.Cameras > 0) result.Add((tenant, Quota.OnlineCameras, usage.Cameras));
                if (usage.WindowBytes(now) is > 0 and var bytes) result.Add((tenant, Quota.IngestBytesPerSecond, bytes));
            }
        return result;
    }

    /// <summary>Calls <paramref name="onChange"/> (once per burst, until <see cref="TakeChange"/>) when the local usage changes.</summary>
    internal void Attach(Action? onChange)
    {
        Volatile.Write(ref _onChange, onChange);
        Volatile.Write(ref _changePending, 0);
    }

    /// <summary>Acknowledges a change notification; the next change notifies again.</summary>
    internal void TakeChange() => Volatile.Write(ref _changePending, 0);

    /// <summary>True while ingest bytes were counted since the last <see cref="EndIngestIfIdle"/> that returned true.</summary>
    internal bool IngestActive => Volatile.Read(ref _ingestActive) == 1;

    /// <summary>True (and the ingest publication stops) when no tenant took bytes within the window.</summary>
    internal bool EndIngestIfIdle()
    {
        Interlocked.Exchange(ref _ingestActive, 0);
        var now = _clock();
        foreach (var usage in _usage.Values)
            lock (usage.Lock)
                if (usage.WindowBytes(now) > 0)
                {
                    Interlocked.Exchange(ref _ingestActive, 1);
                    return false;
                }
        return true;
    }

    private TenantUsage? Usage(string tenant, Quota quota)
    {
        if (!Enabled) return null; // per frame: no allocation, no lookup
        if (_usage.TryGetValue(tenant, out var usage)) return usage.Quota.Limit(quota) is null ? null : usage;
        var effective = _options.For(tenant);
        if (effective.Limit(quota) is null) return null;
        // Tenants come from the configured API keys (authenticated requests only), so this map is bounded.
        return _usage.GetOrAdd(tenant, _ => new TenantUsage(effective));
    }

    /// <summary>Counts one more consumer connection or online camera when this one and the others' stay within the limit.</summary>
    private bool TryCount(TenantUsage usage, string tenant, Quota quota, out string? reason)
    {
        reason = null;
        lock (usage.Lock)
        {
            var limit = usage.Quota.Limit(quota)!.Value;
            ref var count = ref quota == Quota.OnlineCameras ? ref usage.Cameras : ref usage.Consumers;
            if (count + Remote(tenant, quota) >= limit)
            {
                reason = Refuse(tenant, quota, limit);
                return false;
            }
            count++;
        }
        Changed();
        return true;
    }

    private static string Refuse(string tenant, Quota quota, long limit)
    {
        QuotaMetrics.Refused(tenant, QuotaNames.Of(quota));
        return QuotaNames.Reason(quota, tenant, limit);
    }

    private void Changed()
    {
        if (Interlocked.Exchange(ref _changePending, 1) == 0) Notify();
    }

    private void Notify() => Volatile.Read(ref _onChange)?.Invoke();

    private sealed class ConsumerLease(TenantQuotas owner, TenantUsage usage) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            lock (usage.Lock) usage.Consumers--;
            owner.Changed();
        }
    }

    private sealed class NoLease : IDisposable
    {
        public static readonly NoLease Instance = new();

        public void Dispose() { }
    }
}
