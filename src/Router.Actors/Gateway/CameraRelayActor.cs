using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Actors.Metrics;

namespace Router.Actors.Gateway;

/// <summary>
/// A gateway's relay of one camera: every consumer on this gateway watching the camera subscribes here, and the relay
/// holds ONE subscription to the camera entity (wherever its shard lives), so a frame crosses the network once per
/// gateway, not once per consumer. Frames are fanned out locally through a <see cref="FrameFanOut"/> (per-subscriber
/// conflation and acknowledgement). The upstream frame is acknowledged as soon as it is handed to the local streams,
/// so one frame per gateway and camera is in flight over remoting.
/// The relay re-subscribes by itself when the upstream stream ends (entity handed off or passivated) or when the member
/// hosting it becomes unreachable or is removed (entity re-homed after a crash); consumers' WebSockets stay open.
/// Every wait has a deadline: the upstream subscription is retried until it starts; a relay that got no frame for
/// <see cref="CameraOptions.RelayStallTimeout"/> asks the camera for its status and subscribes again only when the
/// camera is online and has a newer frame than the relay's newest (so an idle or offline camera causes no
/// re-subscription storm, while a subscription lost without a signal heals); the local fan-out stream is restarted when
/// it dies. When its last local subscriber leaves it asks its parent (<see cref="CameraRelaysActor"/>) to stop it; the
/// parent holds back subscriptions that arrive meanwhile and hands them to this relay (if it got a subscriber after
/// all) or to its successor, so none is lost.
/// </summary>
internal sealed class CameraRelayActor : ReceiveActor, IWithTimers
{
    private readonly StreamKey _key;
    private readonly IActorRef _region;
    private readonly TimeSpan _latestMaxAge;
    private readonly long _stallTimeoutMs;
    private readonly FrameFanOut _fanOut;
    private readonly RelayVariants _variants;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private string? _upstreamId;
    private IActorRef? _upstreamStage;
    private Address? _upstreamAddress;
    private VideoFrame? _latest;
    private readonly FrameOrder _order;
    private long _lastUpstreamTicks;
    private int _counter;
    private int _startRetries;

    /// <param name="key">The camera.</param>
    /// <param name="region">The camera shard region or proxy.</param>
    /// <param name="options">Camera settings: <see cref="CameraOptions.LatestFrameMaxAge"/> (a new local subscriber gets
    /// the relay's newest frame when younger than this), <see cref="CameraOptions.RelayStallTimeout"/> and the fan-out ack timeouts.</param>
    public CameraRelayActor(StreamKey key, IActorRef region, CameraOptions options)
    {
        _key = key;
        _region = region;
        _latestMaxAge = options.LatestFrameMaxAge;
        _order = new FrameOrder(options.LatestFrameMaxAge);
        _stallTimeoutMs = options.RelayStallTimeout > TimeSpan.Zero ? (long)options.RelayStallTimeout.TotalMilliseconds : 0;
        _fanOut = new FrameFanOut(Context, options, notifyOwner: true);
        _variants = new RelayVariants(Context, key, options);

        Receive<Subscribe>(HandleLocalSubscribe);
        Receive<Unsubscribe>(m => { if (_fanOut.Remove(m.SubscriptionId) || _variants.Remove(m.SubscriptionId)) AskToStopWhenUnused(); });
        Receive<Terminated>(m => { if (_fanOut.RemoveSubscriber(m.ActorRef) + _variants.RemoveSubscriber(m.ActorRef) > 0) AskToStopWhenUnused(); });
        Receive<StopRelay>(_ => HandleStop());
        Receive<FrameFanOut.StreamEnded>(_fanOut.HandleStreamEnded);
        Receive<LivenessTick>(_ => HandleLivenessTick());
        Receive<CameraStatus>(HandleUpstreamStatus);
        Receive<SubscriptionStarted>(HandleUpstreamStarted);
        Receive<VideoFrame>(HandleUpstreamFrame);
        Receive<SubscriptionCompleted>(m => HandleUpstreamEnded(m.SubscriptionId, "completed", TimeSpan.FromMilliseconds(200)));
        Receive<SubscriptionFailed>(m => HandleUpstreamEnded(m.SubscriptionId, m.Reason, TimeSpan.FromMilliseconds(500)));
        Receive<Resubscribe>(HandleResubscribe);
        Receive<ClusterEvent.UnreachableMember>(m => HandleMemberLost(m.Member.Address, "unreachable"));
        Receive<ClusterEvent.MemberRemoved>(m => HandleMemberLost(m.Member.Address, "removed"));
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<ClusterEvent.CurrentClusterState>(_ => { });
    }

    /// <summary>Props of a relay; see the constructor.</summary>
    public static Props Props(StreamKey key, IActorRef region, CameraOptions options) =>
        Akka.Actor.Props.Create(() => new CameraRelayActor(key, region, options));

    /// <summary>Props of a relay with default settings but <paramref name="latestMaxAge"/>; see the constructor.</summary>
    public static Props Props(StreamKey key, IActorRef region, TimeSpan latestMaxAge) =>
        Props(key, region, new CameraOptions { LatestFrameMaxAge = latestMaxAge });

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart()
    {
        TenantMetrics.Relay(1);
        if (Context.System.HasExtension<Cluster>() || Context.System.Settings.ProviderClass.Contains("Cluster"))
            Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvent.UnreachableMember), typeof(ClusterEvent.MemberRemoved));
        if (_stallTimeoutMs > 0)
            Timers.StartPeriodicTimer("liveness", LivenessTick.Instance, TimeSpan.FromMilliseconds(Math.Max(50, _stallTimeoutMs / 2)));
        SubscribeUpstream();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        TenantMetrics.Relay(-1);
        if (Context.System.HasExtension<Cluster>()) Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
        if (_upstreamId is not null) _region.Tell(new Unsubscribe(_key, _upstreamId));
        _fanOut.EndAll();
    }

    private void HandleLocalSubscribe(Subscribe msg)
    {
        var initial = _latest is not null && Environment.TickCount64 - _order.LastPassedTicks < _latestMaxAge.TotalMilliseconds ? _latest : null;
        if (msg.Variant is not null) _variants.Add(msg, initial); // encoded once per frame for all its consumers
        else _fanOut.Add(msg, initial);
    }

    private void SubscribeUpstream()
    {
        if (_upstreamId is not null) _region.Tell(new Unsubscribe(_key, _upstreamId));
        _upstreamId = $"relay-{Self.Path.Uid}-{++_counter}";
        _upstreamStage = null;
        _lastUpstreamTicks = Environment.TickCount64;
        _region.Tell(new Subscribe(_key, _upstreamId, Self, 0));
        // While the camera's shard moves (its old home crashed or is leaving) a Subscribe can be lost: retry until the
        // subscription stream has started.
        Timers.StartSingleTimer("upstream-start", new Resubscribe(_upstreamId, "start-timeout"), UpstreamStartTimeout);
    }

    private void HandleResubscribe(Resubscribe msg)
    {
        if (msg.SubscriptionId != _upstreamId || _upstreamStage is not null) return;
        StreamRecoveryMetrics.RelayResubscribes.Add(1, new KeyValuePair<string, object?>("reason", msg.Reason));
        if (msg.Reason == "start-timeout" && ++_startRetries == 1)
            _log.Info("Relay {0}: upstream subscription did not start within {1} ms; retrying until it does", _key, UpstreamStartTimeout.TotalMilliseconds);
        SubscribeUpstream();
    }

    /// <summary>How long to wait for the upstream stream to start before subscribing again.</summary>
    private static readonly TimeSpan UpstreamStartTimeout = TimeSpan.FromMilliseconds(500);

    private void HandleUpstreamStarted(SubscriptionStarted msg)
    {
        Sender.Tell(StreamAck.Instance);
        if (msg.SubscriptionId != _upstreamId)
        {
            // A retried Subscribe that landed late: end that stream so it does not keep sending frames.
            _region.Tell(new Unsubscribe(_key, msg.SubscriptionId));
            return;
        }
        _upstreamStage = Sender; // also a restarted stage of the same subscription
        _upstreamAddress = Sender.Path.Address;
        _lastUpstreamTicks = Environment.TickCount64;
        _startRetries = 0;
        Timers.Cancel("upstream-start");
    }

    private void HandleUpstreamFrame(VideoFrame frame)
    {
        // Always ack, also late frames of an old upstream, so no stage waits forever.
        Sender.Tell(StreamAck.Instance);
        if (!Sender.Equals(_upstreamStage) || frame.Key != _key) return;
        _lastUpstreamTicks = Environment.TickCount64;
        if (!_order.TryPass(frame.TimestampMs, Environment.TickCount64)) return;
        _latest = frame;
        _fanOut.Publish(frame);
        _variants.Publish(frame);
    }

    private void HandleUpstreamEnded(string subscriptionId, string reason, TimeSpan delay)
    {
        if (subscriptionId != _upstreamId) return;
        _log.Info("Relay {0}: upstream subscription ended ({1}); re-subscribing", _key, reason);
        _upstreamStage = null;
        Timers.StartSingleTimer("resubscribe", new Resubscribe(subscriptionId, "ended"), delay);
    }

    private void HandleMemberLost(Address address, string how)
    {
        if (_upstreamAddress is null || !address.Equals(_upstreamAddress)) return;
        _log.Info("Relay {0}: member {1} hosting the camera is {2}; re-subscribing", _key, address, how);
        StreamRecoveryMetrics.RelayResubscribes.Add(1, new KeyValuePair<string, object?>("reason", "member-lost"));
        SubscribeUpstream();
    }

    /// <summary>No upstream frame for the stall timeout: ask the camera whether it has newer frames than ours.</summary>
    private void HandleLivenessTick()
    {
        if (_upstreamStage is null || LocalSubscriptions == 0 || Environment.TickCount64 - _lastUpstreamTicks < _stallTimeoutMs) return;
        _region.Tell(new GetCameraStatus(_key));
    }

    private void HandleUpstreamStatus(CameraStatus status)
    {
        if (status.Key != _key || _upstreamStage is null || Environment.TickCount64 - _lastUpstreamTicks < _stallTimeoutMs) return;
        // An idle or offline camera has nothing newer: no re-subscription (no storm of them for idle cameras).
        if (!status.Online || status.LastFrameMs <= (_latest?.TimestampMs ?? 0)) return;
        _log.Warning("Relay {0}: no frame for {1} ms while the camera is online with newer frames; re-subscribing", _key, _stallTimeoutMs);
        StreamRecoveryMetrics.RelayResubscribes.Add(1, new KeyValuePair<string, object?>("reason", "stalled"));
        SubscribeUpstream();
    }

    /// <summary>Subscriptions of this gateway's consumers: full-size and variants.</summary>
    private int LocalSubscriptions => _fanOut.Count + _variants.Count;

    /// <summary>Unused: ask the parent to stop this relay (it buffers subscriptions for the camera meanwhile).</summary>
    private void AskToStopWhenUnused()
    {
        if (LocalSubscriptions == 0) Context.Parent.Tell(new RelayIdle(_key));
    }

    /// <summary>The parent stops this relay; a subscription that arrived since <see cref="RelayIdle"/> cancels it.</summary>
    private void HandleStop()
    {
        if (LocalSubscriptions == 0) Context.Stop(Self);
        else Context.Parent.Tell(new RelayStopCancelled(_key));
    }

    private sealed record Resubscribe(string SubscriptionId, string Reason) : INoSerializationVerificationNeeded;

    private sealed class LivenessTick : INoSerializationVerificationNeeded
    {
        public static readonly LivenessTick Instance = new();
    }
}

/// <summary>A relay has no local subscriber left and asks its parent to stop it.</summary>
internal sealed record RelayIdle(StreamKey Key) : INoSerializationVerificationNeeded, IDeadLetterSuppression;

/// <summary>The parent stops an idle relay (unless a subscriber arrived meanwhile).</summary>
internal sealed class StopRelay : INoSerializationVerificationNeeded, IDeadLetterSuppression
{
    public static readonly StopRelay Instance = new();
}

/// <summary>The relay got a subscriber after <see cref="RelayIdle"/> and goes on; the parent hands it what it buffered.</summary>
internal sealed record RelayStopCancelled(StreamKey Key) : INoSerializationVerificationNeeded, IDeadLetterSuppression;
