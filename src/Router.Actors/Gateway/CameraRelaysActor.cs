using System.Net;
using System.Threading.RateLimiting;
using Akka.Actor;
using Akka.Event;
using Router.Actors.Admission;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Actors.Metrics;

namespace Router.Actors.Gateway;

/// <summary>
/// One per gateway process: routes local <see cref="Subscribe"/>/<see cref="Unsubscribe"/> to the
/// <see cref="CameraRelayActor"/> of the camera, creating it on the first subscription. It owns the relays' passivation,
/// as cluster sharding does for entities: an unused relay asks to be stopped (<see cref="RelayIdle"/>); while it
/// stops, messages for its camera are buffered here (at most <see cref="MaxBufferedPerRelay"/>) and then delivered to
/// it (when it got a subscriber meanwhile and stays) or to a new relay started after it has terminated. So no
/// <see cref="Subscribe"/> goes to a stopping relay's dead letters. Starting relays is rate-limited per tenant
/// (<see cref="CameraOptions.NewCamerasPerSecondPerTenant"/>): a subscription over the rate gets
/// <see cref="SubscriptionFailed"/> and is retried by its subscriber, so one tenant's flood of new cameras cannot stall
/// the frames of others.
/// </summary>
internal sealed class CameraRelaysActor : ReceiveActor
{
    /// <summary>Messages held back per stopping relay; beyond it they are dropped (a consumer subscription retries).</summary>
    public const int MaxBufferedPerRelay = 1000;

    private readonly IActorRef _region;
    private readonly CameraOptions _options;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // Relays being stopped (by actor name) and what arrived for them meanwhile, in order.
    private readonly Dictionary<string, List<(object Message, IActorRef Sender)>> _stopping = new();
    // New-camera token buckets per tenant (tenants come from API keys: a bounded set).
    private readonly Dictionary<string, TokenBucketRateLimiter> _newCameras = new();

    /// <param name="region">The camera shard region or proxy.</param>
    /// <param name="options">Camera settings passed to the relays (see <see cref="CameraRelayActor"/>).</param>
    public CameraRelaysActor(IActorRef region, CameraOptions options)
    {
        _region = region;
        _options = options;
        Receive<Subscribe>(m => Route(m.Key, m, Sender, create: true));
        Receive<Unsubscribe>(m => Route(m.Key, m, Sender, create: false));
        Receive<RelayIdle>(_ => HandleIdle(Sender));
        Receive<RelayStopCancelled>(_ => HandleStopCancelled(Sender));
        Receive<Terminated>(m => HandleTerminated(m.ActorRef));
    }

    /// <summary>Props of the registry.</summary>
    public static Props Props(IActorRef region, CameraOptions options) =>
        Akka.Actor.Props.Create(() => new CameraRelaysActor(region, options));

    /// <summary>Props of the registry with default settings but <paramref name="latestMaxAge"/>.</summary>
    public static Props Props(IActorRef region, TimeSpan latestMaxAge) =>
        Props(region, new CameraOptions { LatestFrameMaxAge = latestMaxAge });

    private static string NameOf(StreamKey key) => WebUtility.UrlEncode(key.EntityId);

    private void Route(StreamKey key, object message, IActorRef sender, bool create)
    {
        var name = NameOf(key);
        if (_stopping.TryGetValue(name, out var buffer))
        {
            if (buffer.Count >= MaxBufferedPerRelay)
            {
                _log.Warning("Relay {0} is stopping and {1} messages wait for it; dropping {2}", key, buffer.Count, message.GetType().Name);
                return;
            }
            buffer.Add((message, sender));
            StreamRecoveryMetrics.RelayPassivationBuffered.Add(1);
            return;
        }
        var child = Context.Child(name);
        if (child.IsNobody())
        {
            if (!create) return;
            if (message is Subscribe subscribe && !AdmitNewCamera(subscribe, sender)) return;
            child = Context.ActorOf(CameraRelayActor.Props(key, _region, _options), name);
            Context.Watch(child);
        }
        child.Tell(message, sender);
    }

    /// <summary>Takes a token of the tenant's new-camera bucket, or answers the subscription "retry later".</summary>
    private bool AdmitNewCamera(Subscribe subscribe, IActorRef sender)
    {
        if (!(_options.NewCamerasPerSecondPerTenant > 0) || double.IsPositiveInfinity(_options.NewCamerasPerSecondPerTenant)) return true;
        var tenant = subscribe.Key.Tenant;
        if (!_newCameras.TryGetValue(tenant, out var bucket))
        {
            _newCameras[tenant] = bucket = TokenBuckets.Create(_options.NewCamerasPerSecondPerTenant, Math.Max(1, _options.NewCameraBurstPerTenant));
        }
        using var lease = TokenBuckets.AttemptAcquire(bucket);
        if (lease.IsAcquired) return true;
        StreamRecoveryMetrics.NewCamerasDeferred.Add(1, new KeyValuePair<string, object?>("tenant", tenant));
        sender.Tell(new SubscriptionFailed(subscribe.Key, subscribe.SubscriptionId,
            $"tenant {tenant} starts more than {_options.NewCamerasPerSecondPerTenant} new cameras/s on this gateway; retrying"));
        return false;
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        foreach (var bucket in _newCameras.Values) bucket.Dispose();
    }

    private void HandleIdle(IActorRef relay)
    {
        var name = relay.Path.Name;
        if (_stopping.ContainsKey(name) || !Context.Child(name).Equals(relay)) return;
        _stopping[name] = [];
        // Behind any subscription already forwarded to it: the relay stops only if it is still unused.
        relay.Tell(StopRelay.Instance);
    }

    private void HandleStopCancelled(IActorRef relay)
    {
        if (!_stopping.Remove(relay.Path.Name, out var buffer)) return;
        foreach (var (message, sender) in buffer) relay.Tell(message, sender);
    }

    private void HandleTerminated(IActorRef relay)
    {
        if (!_stopping.Remove(relay.Path.Name, out var buffer)) return;
        // Replay what arrived while it stopped; the first subscription starts its successor.
        foreach (var (message, sender) in buffer)
        {
            var key = message switch
            {
                Subscribe s => s.Key,
                Unsubscribe u => u.Key,
                _ => null,
            };
            if (key is not null) Route(key, message, sender, create: message is Subscribe);
        }
    }
}
