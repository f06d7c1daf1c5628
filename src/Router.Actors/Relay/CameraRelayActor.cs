using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Messages;

namespace Router.Actors.Relay;

/// <summary>
/// A gateway's relay of one camera: every consumer on this gateway watching the camera subscribes here, and the relay
/// holds ONE subscription to the camera entity (wherever its shard lives), so a frame crosses the network once per
/// gateway, not once per viewer. Frames are fanned out locally through a <see cref="FrameFanOut"/> (per-subscriber
/// conflation and acknowledgement). The upstream frame is acknowledged as soon as it is handed to the local streams,
/// so one frame per gateway and camera is in flight over remoting.
/// The relay re-subscribes by itself when the upstream stream ends (entity handed off or passivated) or when the member
/// hosting it becomes unreachable or is removed (entity re-homed after a crash); consumers' WebSockets stay open.
/// It stops when its last local subscriber leaves.
/// </summary>
public sealed class CameraRelayActor : ReceiveActor, IWithTimers
{
    private readonly StreamKey _key;
    private readonly IActorRef _region;
    private readonly TimeSpan _latestMaxAge;
    private readonly FrameFanOut _fanOut;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private string? _upstreamId;
    private IActorRef? _upstreamStage;
    private Address? _upstreamAddress;
    private VideoFrame? _latest;
    private long _latestTicks;
    private int _counter;

    /// <param name="key">The camera.</param>
    /// <param name="region">The camera shard region or proxy.</param>
    /// <param name="latestMaxAge">A new local subscriber gets the relay's newest frame when younger than this.</param>
    public CameraRelayActor(StreamKey key, IActorRef region, TimeSpan latestMaxAge)
    {
        _key = key;
        _region = region;
        _latestMaxAge = latestMaxAge;
        _fanOut = new FrameFanOut(Context);

        Receive<Subscribe>(HandleLocalSubscribe);
        Receive<Unsubscribe>(m => { if (_fanOut.Remove(m.SubscriptionId)) StopWhenUnused(); });
        Receive<Terminated>(m => { if (_fanOut.RemoveSubscriber(m.ActorRef) > 0) StopWhenUnused(); });
        Receive<SubscriptionStarted>(HandleUpstreamStarted);
        Receive<VideoFrame>(HandleUpstreamFrame);
        Receive<SubscriptionCompleted>(m => HandleUpstreamEnded(m.SubscriptionId, "completed", TimeSpan.FromMilliseconds(200)));
        Receive<SubscriptionFailed>(m => HandleUpstreamEnded(m.SubscriptionId, m.Reason, TimeSpan.FromMilliseconds(500)));
        Receive<Resubscribe>(m => { if (m.SubscriptionId == _upstreamId && _upstreamStage is null) SubscribeUpstream(); });
        Receive<ClusterEvent.UnreachableMember>(m => HandleMemberLost(m.Member.Address, "unreachable"));
        Receive<ClusterEvent.MemberRemoved>(m => HandleMemberLost(m.Member.Address, "removed"));
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<ClusterEvent.CurrentClusterState>(_ => { });
    }

    /// <summary>Props of a relay; see the constructor.</summary>
    public static Props Props(StreamKey key, IActorRef region, TimeSpan latestMaxAge) =>
        Akka.Actor.Props.Create(() => new CameraRelayActor(key, region, latestMaxAge));

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart()
    {
        if (Context.System.HasExtension<Cluster>() || Context.System.Settings.ProviderClass.Contains("Cluster"))
            Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvent.UnreachableMember), typeof(ClusterEvent.MemberRemoved));
        SubscribeUpstream();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        if (Context.System.HasExtension<Cluster>()) Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
        if (_upstreamId is not null) _region.Tell(new Unsubscribe(_key, _upstreamId));
        _fanOut.EndAll();
    }

    private void HandleLocalSubscribe(Subscribe msg)
    {
        var initial = _latest is not null && Environment.TickCount64 - _latestTicks < _latestMaxAge.TotalMilliseconds ? _latest : null;
        _fanOut.Add(msg, initial);
    }

    private void SubscribeUpstream()
    {
        if (_upstreamId is not null) _region.Tell(new Unsubscribe(_key, _upstreamId));
        _upstreamId = $"relay-{Self.Path.Uid}-{++_counter}";
        _upstreamStage = null;
        _region.Tell(new Subscribe(_key, _upstreamId, Self, 0));
        // While the camera's shard moves (its old home crashed or is leaving) a Subscribe can be lost: retry until the
        // subscription stream has started.
        Timers.StartSingleTimer("upstream-start", new Resubscribe(_upstreamId), UpstreamStartTimeout);
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
        _upstreamStage = Sender;
        _upstreamAddress = Sender.Path.Address;
        Timers.Cancel("upstream-start");
    }

    private void HandleUpstreamFrame(VideoFrame frame)
    {
        // Always ack, also late frames of an old upstream, so no stage waits forever.
        Sender.Tell(StreamAck.Instance);
        if (!Sender.Equals(_upstreamStage) || frame.Key != _key) return;
        if (_latest is not null && frame.TimestampMs < _latest.TimestampMs && Environment.TickCount64 - _latestTicks < _latestMaxAge.TotalMilliseconds) return;
        _latest = frame;
        _latestTicks = Environment.TickCount64;
        _fanOut.Publish(frame);
    }

    private void HandleUpstreamEnded(string subscriptionId, string reason, TimeSpan delay)
    {
        if (subscriptionId != _upstreamId) return;
        _log.Info("Relay {0}: upstream subscription ended ({1}); re-subscribing", _key, reason);
        _upstreamStage = null;
        Timers.StartSingleTimer("resubscribe", new Resubscribe(subscriptionId), delay);
    }

    private void HandleMemberLost(Address address, string how)
    {
        if (_upstreamAddress is null || !address.Equals(_upstreamAddress)) return;
        _log.Info("Relay {0}: member {1} hosting the camera is {2}; re-subscribing", _key, address, how);
        SubscribeUpstream();
    }

    private void StopWhenUnused()
    {
        if (_fanOut.Count == 0) Context.Stop(Self);
    }

    private sealed record Resubscribe(string SubscriptionId) : INoSerializationVerificationNeeded;
}
