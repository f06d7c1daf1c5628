using Akka.Actor;
using Akka.Event;
using Router.Actors.Directory;
using Router.Actors.Identity;
using Router.Actors.Messages;

namespace Router.Gateway.Streaming;

/// <summary>The outbound side of one consumer connection, as seen by its <see cref="SubscriberActor"/>.</summary>
internal interface IFrameOutlet
{
    /// <summary>Queues <paramref name="frame"/> for sending; <paramref name="ackTo"/> gets <see cref="StreamAck"/> once it is sent.</summary>
    void Deliver(VideoFrame frame, IActorRef ackTo);
}

/// <summary>
/// One per consumer WebSocket: subscribes (through the gateway's camera relays) to the requested cameras of one source (or, with no camera_id, to every
/// camera of the source, including ones that come online later), passes frames to the connection's
/// <see cref="IFrameOutlet"/> and re-subscribes when a subscription stream ends (entity passivated or re-homed).
/// Frames of a camera are passed on in timestamp order only; an older frame after a newer one is dropped.
/// </summary>
internal sealed class SubscriberActor : ReceiveActor, IWithTimers
{
    private readonly string _tenant;
    private readonly string _sourceId;
    private readonly IReadOnlyList<string>? _cameraIds;
    private readonly double _maxFps;
    private readonly IActorRef _relays;
    private readonly IActorRef _directory;
    private readonly IFrameOutlet _outlet;
    private readonly Dictionary<StreamKey, string> _subscriptions = new();
    private readonly Dictionary<StreamKey, long> _lastTimestamp = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private int _counter;

    public SubscriberActor(string tenant, string sourceId, IReadOnlyList<string>? cameraIds, double maxFps,
        IActorRef relays, IActorRef directory, IFrameOutlet outlet)
    {
        _tenant = tenant;
        _sourceId = sourceId;
        _cameraIds = cameraIds;
        _maxFps = maxFps;
        _relays = relays;
        _directory = directory;
        _outlet = outlet;

        Receive<CameraCameOnline>(m => { if (!_subscriptions.ContainsKey(m.Key)) SubscribeTo(m.Key); });
        Receive<SubscriptionStarted>(_ => Sender.Tell(StreamAck.Instance));
        Receive<VideoFrame>(HandleFrame);
        Receive<SubscriptionCompleted>(m => HandleEnded(m.Key, m.SubscriptionId, "completed"));
        Receive<SubscriptionFailed>(m => HandleEnded(m.Key, m.SubscriptionId, m.Reason));
        Receive<Resubscribe>(m => { if (_subscriptions.TryGetValue(m.Key, out var id) && id == m.SubscriptionId) SubscribeTo(m.Key); });
    }

    public static Props Props(string tenant, string sourceId, IReadOnlyList<string>? cameraIds, double maxFps,
        IActorRef relays, IActorRef directory, IFrameOutlet outlet) =>
        Akka.Actor.Props.Create(() => new SubscriberActor(tenant, sourceId, cameraIds, maxFps, relays, directory, outlet));

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        if (_cameraIds is null) _directory.Tell(new WatchSourceCameras(_tenant, _sourceId, Self));
        else foreach (var camera in _cameraIds) SubscribeTo(new StreamKey(_tenant, _sourceId, camera));
    }

    protected override void PostStop()
    {
        foreach (var (key, id) in _subscriptions) _relays.Tell(new Unsubscribe(key, id));
    }

    private void SubscribeTo(StreamKey key)
    {
        var id = $"{Self.Path.Uid}-{++_counter}";
        _subscriptions[key] = id;
        _relays.Tell(new Subscribe(key, id, Self, _maxFps));
    }

    private void HandleFrame(VideoFrame frame)
    {
        if (frame.Key.Tenant != _tenant || !_subscriptions.ContainsKey(frame.Key))
        {
            // Not ours (a late frame of an ended subscription); never forward across tenants.
            Sender.Tell(StreamAck.Instance);
            return;
        }
        if (_lastTimestamp.TryGetValue(frame.Key, out var last) && frame.TimestampMs < last)
        {
            Sender.Tell(StreamAck.Instance);
            return;
        }
        _lastTimestamp[frame.Key] = frame.TimestampMs;
        _outlet.Deliver(frame, Sender);
    }

    private void HandleEnded(StreamKey key, string subscriptionId, string reason)
    {
        if (!_subscriptions.TryGetValue(key, out var current) || current != subscriptionId) return;
        _log.Debug("Subscription {0} to {1} ended ({2}); re-subscribing", subscriptionId, key, reason);
        Timers.StartSingleTimer(("resubscribe", key), new Resubscribe(key, subscriptionId), TimeSpan.FromMilliseconds(500));
    }

    private sealed record Resubscribe(StreamKey Key, string SubscriptionId) : INoSerializationVerificationNeeded;
}
