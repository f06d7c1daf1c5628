using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;
using Akka.Event;

namespace Router.Actors.Quotas;

/// <summary>
/// One per process when a quota is configured: shares this process's quota usage (<see cref="TenantQuotas"/>) with every
/// member and hands the other members' usage back to it. The usage lives in one replicated
/// <see cref="LWWDictionary{TKey,TValue}"/> (<see cref="Key"/>), one entry per member, tenant and quota
/// (<c>{member}|{tenant}|{quota}</c>) that only its member writes, with <see cref="WriteLocal"/>: the replicator
/// spreads the change to the others (delta propagation, then gossip), so counts converge within about a second.
/// Entries of zero are removed, a member's entries are ignored once it has left and removed when it is removed, so the
/// map holds at most members × tenants × 3 entries. At rest nothing runs: usage is written only when it changes, and
/// the ingest rate (which decays by itself) is re-read once a second only while a tenant with a byte quota ingests.
/// </summary>
internal sealed class QuotaUsageActor : ReceiveActor, IWithTimers
{
    /// <summary>The replicated usage map.</summary>
    public static readonly LWWDictionaryKey<string, long> Key = new("router-quota-usage");

    private const string IngestTimer = "ingest";
    private readonly TenantQuotas _quotas;
    private readonly Akka.Cluster.Cluster _cluster;
    private readonly IActorRef _replicator;
    private readonly string _self;
    private readonly HashSet<string> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _published = new(StringComparer.Ordinal);
    private LWWDictionary<string, long> _data = LWWDictionary<string, long>.Empty;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public QuotaUsageActor(TenantQuotas quotas)
    {
        _quotas = quotas;
        _cluster = Akka.Cluster.Cluster.Get(Context.System);
        _replicator = DistributedData.Get(Context.System).Replicator;
        _self = MemberId(_cluster.SelfUniqueAddress);

        Receive<UsageChanged>(_ => Publish());
        Receive<IngestTick>(_ =>
        {
            Publish();
            if (_quotas.EndIngestIfIdle()) Timers.Cancel(IngestTimer);
        });
        Receive<Changed>(c =>
        {
            if (!c.Key.Equals(Key)) return;
            _data = c.Get(Key);
            Recompute();
        });
        Receive<ClusterEvent.MemberRemoved>(HandleRemoved);
        Receive<ClusterEvent.IMemberEvent>(e =>
        {
            if (_members.Add(MemberId(e.Member.UniqueAddress))) Recompute();
        });
        Receive<UpdateSuccess>(_ => { });
        Receive<IUpdateResponse>(r => _log.Warning("Quota usage not written: {0}", r));
    }

    /// <summary>Props of the actor for <paramref name="quotas"/>.</summary>
    public static Props Props(TenantQuotas quotas) => Akka.Actor.Props.Create(() => new QuotaUsageActor(quotas));

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The id of a member in the map's keys: its address and uid (a restarted process is another member).</summary>
    internal static string MemberId(UniqueAddress address) => $"{address.Address}#{address.Uid}";

    /// <summary>The map key of one usage value.</summary>
    internal static string EntryKey(string member, string tenant, Quota quota) => $"{member}|{tenant}|{QuotaNames.Of(quota)}";

    /// <summary>Parses <see cref="EntryKey"/>; false for a key of another format.</summary>
    internal static bool TryParseEntryKey(string key, out string member, out string tenant, out Quota quota)
    {
        member = tenant = string.Empty;
        quota = default;
        var parts = key.Split('|');
        if (parts.Length != 3) return false;
        foreach (var q in Enum.GetValues<Quota>())
            if (QuotaNames.Of(q) == parts[2])
            {
                (member, tenant, quota) = (parts[0], parts[1], q);
                return true;
            }
        return false;
    }

    /// <summary>
    /// The other members' usage summed per tenant and quota: entries of this member (its own usage is exact locally)
    /// and of members not (or no longer) in the cluster are left out.
    /// </summary>
    internal static Dictionary<(string Tenant, Quota Quota), long> SumRemote(IEnumerable<KeyValuePair<string, long>> entries, string self, IReadOnlySet<string> members)
    {
        var sums = new Dictionary<(string, Quota), long>();
        foreach (var (key, value) in entries)
        {
            if (!TryParseEntryKey(key, out var member, out var tenant, out var quota) || member == self || !members.Contains(member)) continue;
            sums[(tenant, quota)] = sums.GetValueOrDefault((tenant, quota)) + value;
        }
        return sums;
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        _replicator.Tell(Dsl.Subscribe(Key, Self));
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent));
        var self = Self;
        _quotas.Attach(() => self.Tell(UsageChanged.Instance));
        Publish();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _quotas.Attach(null);
        _replicator.Tell(Dsl.Unsubscribe(Key, Self));
        _cluster.Unsubscribe(Self);
    }

    private void Publish()
    {
        _quotas.TakeChange();
        if (_quotas.IngestActive && !Timers.IsTimerActive(IngestTimer))
            Timers.StartPeriodicTimer(IngestTimer, IngestTick.Instance, TimeSpan.FromMilliseconds(TenantQuotas.WindowMs));
        var now = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (tenant, quota, value) in _quotas.LocalUsage()) now[EntryKey(_self, tenant, quota)] = value;
        var set = now.Where(p => !_published.TryGetValue(p.Key, out var old) || old != p.Value).ToList();
        var removed = _published.Keys.Where(k => !now.ContainsKey(k)).ToList();
        if (set.Count == 0 && removed.Count == 0) return;
        foreach (var (key, value) in set) _published[key] = value;
        foreach (var key in removed) _published.Remove(key);
        var cluster = _cluster;
        _replicator.Tell(Dsl.Update(Key, LWWDictionary<string, long>.Empty, WriteLocal.Instance, map =>
        {
            foreach (var (key, value) in set) map = map.SetItem(cluster, key, value);
            foreach (var key in removed) map = map.Remove(cluster, key);
            return map;
        }));
    }

    private void HandleRemoved(ClusterEvent.MemberRemoved removed)
    {
        var member = MemberId(removed.Member.UniqueAddress);
        _members.Remove(member);
        // Every member removes the departed member's entries (removals of the same entry merge); until then they are ignored.
        var stale = _data.Keys.Where(k => TryParseEntryKey(k, out var m, out _, out _) && m == member).ToList();
        if (stale.Count > 0)
        {
            var cluster = _cluster;
            _replicator.Tell(Dsl.Update(Key, LWWDictionary<string, long>.Empty, WriteLocal.Instance, map =>
            {
                foreach (var key in stale) map = map.Remove(cluster, key);
                return map;
            }));
        }
        Recompute();
    }

    private void Recompute() => _quotas.SetRemote(SumRemote(_data.Entries, _self, _members));

    private sealed class UsageChanged : INoSerializationVerificationNeeded, IDeadLetterSuppression
    {
        public static readonly UsageChanged Instance = new();
    }

    private sealed class IngestTick : INoSerializationVerificationNeeded, IDeadLetterSuppression
    {
        public static readonly IngestTick Instance = new();
    }
}
