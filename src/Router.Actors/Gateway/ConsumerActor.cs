using Akka.Actor;
using Akka.Event;
using Router.Actors.Camera;
using Router.Actors.Directory;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Actors.Metrics;

namespace Router.Actors.Gateway;

/// <summary>The outbound side of one consumer connection, as seen by its <see cref="ConsumerActor"/>.</summary>
public interface IFrameOutlet
{
    /// <summary>
    /// Queues <paramref name="frame"/> for sending; once it is sent, <paramref name="ackTo"/> (the fan-out stage) gets
    /// <see cref="StreamAck"/> with <paramref name="consumerActor"/> as sender (the stage matches acks by sender).
    /// </summary>
    void Deliver(VideoFrame frame, IActorRef ackTo, IActorRef consumerActor);
}

/// <summary>
/// One per consumer WebSocket: subscribes (through the gateway's camera relays) to the requested cameras of one source (or, with no camera_id, to every
/// camera of the source, including ones that come online later), passes frames to the connection's
/// <see cref="IFrameOutlet"/> and re-subscribes when a subscription stream ends (entity passivated or re-homed).
/// Frames of a camera are passed on in timestamp order (<see cref="FrameOrder"/>): an older frame after a newer one is
/// dropped, unless the last frame passed on is at least <c>latestMaxAge</c> old by the wall clock (the device's clock was
/// reset), so a connection opened before a clock reset does not starve until the new timestamps pass the old ones.
/// A subscription that does not start (no <see cref="SubscriptionStarted"/>) within <see cref="DefaultStartTimeout"/>
/// is retried with a new id (the old one is unsubscribed), counted and logged once per camera until it starts.
/// </summary>
public sealed class ConsumerActor : ReceiveActor, IWithTimers
{
    /// <summary>How long a subscription may take to start before it is retried: 3 s.</summary>
    public static readonly TimeSpan DefaultStartTimeout = TimeSpan.FromSeconds(3);

    private readonly string _tenant;
    private readonly string _sourceId;
    private readonly IReadOnlyList<string>? _cameraIds;
    private readonly double _maxFps;
    private readonly IActorRef _relays;
    private readonly IActorRef _directory;
    private readonly IFrameOutlet _outlet;
    private readonly TimeSpan _latestMaxAge;
    private readonly Func<long> _clock;
    private readonly TimeSpan _startTimeout;
    private readonly Media.VariantSpec? _variant;
    private readonly HashSet<StreamKey> _retrying = [];
    private readonly Dictionary<StreamKey, string> _subscriptions = new();
    private readonly Dictionary<StreamKey, FrameOrder> _order = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private int _counter;
    // The camera of the last frame and its order: most consumers watch one camera, so most frames skip both lookups.
    private StreamKey? _lastKey;
    private FrameOrder? _lastOrder;

    /// <param name="tenant">The consumer's tenant (from its API key); frames of other tenants are never passed on.</param>
    /// <param name="sourceId">The watched source.</param>
    /// <param name="cameraIds">The watched cameras, or null for every camera of the source (also those that come online later).</param>
    /// <param name="maxFps">Rate cap per camera; 0 means none.</param>
    /// <param name="relays">The gateway's camera relays (subscriptions go through them).</param>
    /// <param name="directory">The node-local camera directory.</param>
    /// <param name="outlet">Where frames go (the consumer connection's writer).</param>
    /// <param name="latestMaxAge">See <see cref="FrameOrder"/> (<c>Router:Camera:LatestFrameMaxAge</c>).</param>
    /// <param name="clock">Milliseconds of a monotonic clock; <see cref="Environment.TickCount64"/> unless a test replaces it.</param>
    /// <param name="startTimeout">See <see cref="DefaultStartTimeout"/> (the default when null).</param>
    /// <param name="variant">The smaller picture asked for (shared per camera by the gateway's relay), or null for full size.</param>
    public ConsumerActor(string tenant, string sourceId, IReadOnlyList<string>? cameraIds, double maxFps,
        IActorRef relays, IActorRef directory, IFrameOutlet outlet, TimeSpan latestMaxAge, Func<long>? clock = null,
        TimeSpan? startTimeout = null, Media.VariantSpec? variant = null)
    {
        _tenant = tenant;
        _sourceId = sourceId;
        _cameraIds = cameraIds;
        _maxFps = maxFps;
        _relays = relays;
        _directory = directory;
        _outlet = outlet;
        _latestMaxAge = latestMaxAge;
        _clock = clock ?? (() => Environment.TickCount64);
        _startTimeout = startTimeout ?? DefaultStartTimeout;
        _variant = variant;

        Receive<VideoFrame>(HandleFrame); // first: matched once per frame, the others rarely
        Receive<CameraCameOnline>(m => { if (!_subscriptions.ContainsKey(m.Key)) SubscribeTo(m.Key); });
        Receive<SubscriptionStarted>(HandleStarted);
        Receive<SubscriptionCompleted>(m => HandleEnded(m.Key, m.SubscriptionId, "completed"));
        Receive<SubscriptionFailed>(m => HandleEnded(m.Key, m.SubscriptionId, m.Reason));
        Receive<Resubscribe>(m => { if (_subscriptions.TryGetValue(m.Key, out var id) && id == m.SubscriptionId) SubscribeTo(m.Key); });
        Receive<StartTimedOut>(HandleStartTimedOut);
    }

    /// <summary>Props of a <see cref="ConsumerActor"/>; the parameters are the constructor's.</summary>
    public static Props Props(string tenant, string sourceId, IReadOnlyList<string>? cameraIds, double maxFps,
        IActorRef relays, IActorRef directory, IFrameOutlet outlet, TimeSpan latestMaxAge, Func<long>? clock = null,
        TimeSpan? startTimeout = null, Media.VariantSpec? variant = null) =>
        Akka.Actor.Props.Create(() => new ConsumerActor(tenant, sourceId, cameraIds, maxFps, relays, directory, outlet, latestMaxAge, clock, startTimeout, variant));

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart()
    {
        if (_cameraIds is null) _directory.Tell(new WatchSourceCameras(_tenant, _sourceId, Self));
        else foreach (var camera in _cameraIds) SubscribeTo(new StreamKey(_tenant, _sourceId, camera));
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        foreach (var (key, id) in _subscriptions) _relays.Tell(new Unsubscribe(key, id));
    }

    private void SubscribeTo(StreamKey key)
    {
        // Counted as a consumer of the camera (GET /v1/sources) until this actor stops.
        if (!_subscriptions.ContainsKey(key)) _directory.Tell(new WatchingCamera(key, Self));
        else _relays.Tell(new Unsubscribe(key, _subscriptions[key])); // a retry or re-subscription replaces the old one
        var id = $"{Self.Path.Uid}-{++_counter}";
        _subscriptions[key] = id;
        _relays.Tell(new Subscribe(key, id, Self, _maxFps) { Variant = _variant });
        if (_startTimeout > TimeSpan.Zero) Timers.StartSingleTimer(("start", key), new StartTimedOut(key, id), _startTimeout);
    }

    private void HandleStarted(SubscriptionStarted msg)
    {
        Sender.Tell(StreamAck.Instance);
        if (!_subscriptions.TryGetValue(msg.Key, out var id) || id != msg.SubscriptionId) return;
        Timers.Cancel(("start", msg.Key));
        _retrying.Remove(msg.Key);
    }

    private void HandleStartTimedOut(StartTimedOut msg)
    {
        if (!_subscriptions.TryGetValue(msg.Key, out var id) || id != msg.SubscriptionId) return;
        StreamRecoveryMetrics.SubscriptionStartRetries.Add(1);
        if (_retrying.Add(msg.Key))
            _log.Warning("Subscription {0} to {1} did not start within {2} ms; retrying until it does", id, msg.Key, _startTimeout.TotalMilliseconds);
        SubscribeTo(msg.Key);
    }

    private void HandleFrame(VideoFrame frame)
    {
        FrameOrder order;
        if (frame.Key.Equals(_lastKey)) order = _lastOrder!; // a key once subscribed stays in _subscriptions
        else
        {
            if (frame.Key.Tenant != _tenant || !_subscriptions.ContainsKey(frame.Key))
            {
                // Not ours (a late frame of an ended subscription); never forward across tenants.
                Sender.Tell(StreamAck.Instance);
                return;
            }
            if (!_order.TryGetValue(frame.Key, out order!)) _order[frame.Key] = order = new FrameOrder(_latestMaxAge);
            (_lastKey, _lastOrder) = (frame.Key, order);
        }
        if (!order.TryPass(frame.TimestampMs, _clock()))
        {
            Sender.Tell(StreamAck.Instance);
            return;
        }
        _outlet.Deliver(frame, Sender, Self);
    }

    private void HandleEnded(StreamKey key, string subscriptionId, string reason)
    {
        if (!_subscriptions.TryGetValue(key, out var current) || current != subscriptionId) return;
        _log.Debug("Subscription {0} to {1} ended ({2}); re-subscribing", subscriptionId, key, reason);
        Timers.StartSingleTimer(("resubscribe", key), new Resubscribe(key, subscriptionId), TimeSpan.FromMilliseconds(500));
    }

    private sealed record Resubscribe(StreamKey Key, string SubscriptionId) : INoSerializationVerificationNeeded;

    private sealed record StartTimedOut(StreamKey Key, string SubscriptionId) : INoSerializationVerificationNeeded;
}
