using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Messages;

namespace Router.Actors.Directory;

/// <summary>
/// One per node: the node's view of which cameras are online in the whole cluster. Camera entities publish their
/// <see cref="CameraStatus"/> through it to the DistributedPubSub topic <see cref="Topic"/>; every directory
/// subscribes to that topic. An entry expires when no status arrived for <see cref="ExpireAfter"/>. Configured pull
/// sources are always listed (their capture starts when someone subscribes).
/// It also counts consumers: the consumer connections of its process register with <see cref="WatchingCamera"/>, and
/// every directory publishes its counts (<see cref="ConsumerCounts"/>, topic <see cref="ConsumerTopic"/>) so that each one
/// can answer the number of consumers per camera summed over all gateway processes.
/// </summary>
internal sealed class CameraDirectoryActor : ReceiveActor, IWithTimers
{
    /// <summary>The DistributedPubSub topic for camera status.</summary>
    public const string Topic = "router.camera-status";

    /// <summary>The DistributedPubSub topic for <see cref="ConsumerCounts"/>.</summary>
    public const string ConsumerTopic = "router.camera-consumers";

    /// <summary>An entry without a fresh status for this long is dropped (the entity publishes every second).</summary>
    public static readonly TimeSpan ExpireAfter = TimeSpan.FromSeconds(5);

    private readonly IActorRef? _mediator;
    private readonly Dictionary<StreamKey, (CameraStatus Status, long ReceivedTicks)> _cameras = new();
    private readonly Dictionary<StreamKey, PullSourceDefinition> _pullSources;
    private readonly List<WatchSourceCameras> _watchers = new();
    private readonly string _origin = Guid.NewGuid().ToString("N");
    private readonly Dictionary<IActorRef, HashSet<StreamKey>> _localConsumers = new();
    private readonly Dictionary<StreamKey, int> _localCounts = new();
    private readonly Dictionary<string, (IReadOnlyList<ConsumerCount> Counts, long ReceivedTicks)> _remoteConsumers = new();
    private bool _consumersChanged;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <param name="pullSources">Configured pull sources, listed as online.</param>
    /// <param name="useDistributedPubSub">True in a cluster: publish and subscribe through DistributedPubSub;
    /// false (tests without a cluster): statuses are only kept locally.</param>
    public CameraDirectoryActor(PullSourceCatalog pullSources, bool useDistributedPubSub)
    {
        _pullSources = pullSources.All.ToDictionary(p => p.Key);
        if (useDistributedPubSub) _mediator = DistributedPubSub.Get(Context.System).Mediator;

        Receive<PublishCameraStatus>(m =>
        {
            if (_mediator is null) Self.Tell(m.Status);
            else _mediator.Tell(new Publish(Topic, m.Status));
        });
        Receive<CameraStatus>(HandleStatus);
        Receive<GetOnlineCameras>(HandleQuery);
        Receive<WatchSourceCameras>(HandleWatch);
        Receive<WatchingCamera>(HandleWatchingCamera);
        Receive<ConsumerCounts>(HandleConsumerCounts);
        Receive<Terminated>(t =>
        {
            _watchers.RemoveAll(w => w.Watcher.Equals(t.ActorRef));
            if (!_localConsumers.Remove(t.ActorRef, out var keys)) return;
            foreach (var key in keys)
                if (--_localCounts[key] == 0) _localCounts.Remove(key);
            _consumersChanged = true;
        });
        Receive<SubscribeAck>(_ => { });
        Receive<Sweep>(_ => HandleSweep());
    }

    /// <summary>Props of the directory.</summary>
    public static Props Props(PullSourceCatalog pullSources, bool useDistributedPubSub) =>
        Akka.Actor.Props.Create(() => new CameraDirectoryActor(pullSources, useDistributedPubSub));

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart()
    {
        _mediator?.Tell(new Akka.Cluster.Tools.PublishSubscribe.Subscribe(Topic, Self));
        _mediator?.Tell(new Akka.Cluster.Tools.PublishSubscribe.Subscribe(ConsumerTopic, Self));
        Timers.StartPeriodicTimer("sweep", Sweep.Instance, TimeSpan.FromSeconds(1));
    }

    private void HandleStatus(CameraStatus status)
    {
        var wasOnline = IsOnline(status.Key);
        if (status.Online) _cameras[status.Key] = (status, Environment.TickCount64);
        else _cameras.Remove(status.Key);
        if (!wasOnline && IsOnline(status.Key)) NotifyWatchers(status.Key);
    }

    private bool IsOnline(StreamKey key) => _cameras.ContainsKey(key) || _pullSources.ContainsKey(key);

    private void NotifyWatchers(StreamKey key)
    {
        foreach (var w in _watchers)
            if (w.Tenant == key.Tenant && w.SourceId == key.SourceId) w.Watcher.Tell(new CameraCameOnline(key));
    }

    private void HandleQuery(GetOnlineCameras query)
    {
        var cameras = Online(query.Tenant, query.SourceId);
        // This process's consumers plus the latest counts of every other process.
        var consumers = new Dictionary<StreamKey, int>();
        void Add(StreamKey key, int n)
        {
            if (key.Tenant == query.Tenant && (query.SourceId is null || key.SourceId == query.SourceId))
                consumers[key] = consumers.GetValueOrDefault(key) + n;
        }
        foreach (var (key, n) in _localCounts) Add(key, n);
        foreach (var (counts, _) in _remoteConsumers.Values)
            foreach (var c in counts) Add(c.Key, c.Consumers);
        Sender.Tell(new OnlineCameras(cameras, consumers));
    }

    private void HandleWatchingCamera(WatchingCamera msg)
    {
        if (!_localConsumers.TryGetValue(msg.Consumer, out var keys))
        {
            _localConsumers[msg.Consumer] = keys = new HashSet<StreamKey>();
            Context.Watch(msg.Consumer);
        }
        if (!keys.Add(msg.Key)) return;
        _localCounts[msg.Key] = _localCounts.GetValueOrDefault(msg.Key) + 1;
        _consumersChanged = true;
    }

    private void HandleConsumerCounts(ConsumerCounts msg)
    {
        if (msg.Origin == _origin) return; // our own publication, back through the topic
        if (msg.Counts.Count == 0) _remoteConsumers.Remove(msg.Origin);
        else _remoteConsumers[msg.Origin] = (msg.Counts, Environment.TickCount64);
    }

    /// <summary>Publishes this process's consumer counts when they changed, and every tick while there are any (keeps them fresh).</summary>
    private void PublishConsumerCounts()
    {
        if (_mediator is null || (!_consumersChanged && _localConsumers.Count == 0)) return;
        _consumersChanged = false;
        var counts = _localCounts.Select(p => new ConsumerCount(p.Key, p.Value)).ToList();
        _mediator.Tell(new Publish(ConsumerTopic, new ConsumerCounts(_origin, counts)));
    }

    private List<CameraStatus> Online(string tenant, string? sourceId)
    {
        bool Match(StreamKey k) => k.Tenant == tenant && (sourceId is null || k.SourceId == sourceId);
        var result = _cameras.Values.Select(v => v.Status).Where(s => Match(s.Key)).ToList();
        foreach (var pull in _pullSources.Keys.Where(Match))
            if (!_cameras.ContainsKey(pull)) result.Add(new CameraStatus(pull, true, "pull", 0, 0, 0, 0, 0));
        result.Sort((a, b) =>
        {
            var c = string.CompareOrdinal(a.Key.SourceId, b.Key.SourceId);
            return c != 0 ? c : string.CompareOrdinal(a.Key.CameraId, b.Key.CameraId);
        });
        return result;
    }

    private void HandleWatch(WatchSourceCameras watch)
    {
        _watchers.Add(watch);
        Context.Watch(watch.Watcher);
        foreach (var s in Online(watch.Tenant, watch.SourceId)) watch.Watcher.Tell(new CameraCameOnline(s.Key));
    }

    private void HandleSweep()
    {
        var now = Environment.TickCount64;
        var expired = _cameras.Where(p => now - p.Value.ReceivedTicks > ExpireAfter.TotalMilliseconds).Select(p => p.Key).ToList();
        foreach (var key in expired)
        {
            _cameras.Remove(key);
            _log.Debug("Directory: camera {0} expired", key);
        }
        foreach (var origin in _remoteConsumers.Where(p => now - p.Value.ReceivedTicks > ExpireAfter.TotalMilliseconds).Select(p => p.Key).ToList())
            _remoteConsumers.Remove(origin);
        PublishConsumerCounts();
    }

    private sealed class Sweep : INotInfluenceReceiveTimeout, INoSerializationVerificationNeeded
    {
        public static readonly Sweep Instance = new();
    }
}
