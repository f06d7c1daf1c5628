using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using Router.Actors.Messages;
using Router.Actors.Metrics;

namespace Router.Actors.Camera;

/// <summary>
/// The subscriptions of one camera inside one actor (the camera entity, or a gateway's relay): ONE Akka.Streams stream
/// per camera, <c>Source.ActorRef</c> → <c>Conflate</c> (newest frame wins) → <see cref="FanOutSinkStage"/>, which
/// holds per subscription at most one frame in flight until the subscriber acks and one pending frame (newer replaces
/// older), with an optional max_fps pace. A slow subscriber therefore holds at most two frames and only loses its own
/// frames; a frame costs one stream element for all subscribers (measured with bench/Router.Bench, S1: one stream per
/// subscription cost one interpreter wake-up per frame and subscriber).
/// Subscribers are watched by the stage (a stopped subscriber's subscriptions end); the owning actor also watches them
/// and passes <see cref="Terminated"/> to <see cref="RemoveSubscriber"/> to keep its own count.
/// <para>
/// The stream is supervised: when it fails or completes while it has subscriptions (a throw inside the stage), a new
/// one is started and every subscription re-attached (its subscriber gets <see cref="SubscriptionStarted"/> again from
/// the new stage, then frames; no re-subscription needed). The death is noticed at the next frame or command, and at
/// once when the owner routes <see cref="StreamEnded"/> to <see cref="HandleStreamEnded"/>. Restarts are at least
/// <see cref="MinRestartInterval"/> apart (frames in between are dropped), so a stream that keeps dying cannot spin.
/// </para>
/// </summary>
internal sealed class FrameFanOut
{
    /// <summary>Two restarts of the stream are at least this far apart.</summary>
    public static readonly TimeSpan MinRestartInterval = TimeSpan.FromMilliseconds(500);

    private readonly IActorContext _context;
    private readonly IActorRef _owner;
    private readonly bool _notifyOwner;
    private readonly TimeSpan _ackTimeout;
    private readonly TimeSpan _localAckTimeout;
    private readonly ILoggingAdapter _log;
    private readonly string _name;
    private readonly Dictionary<string, Subscribe> _subscriptions = new();
    private IMaterializer? _materializer;
    private FanOutSinkStage.Control? _control;
    private IActorRef? _source;
    private int _generation;
    private long _lastStartTicks = long.MinValue / 2;
    private bool _ended;

    /// <param name="context">The owning actor's context (the stream runs as its child).</param>
    /// <param name="options">Ack timeouts (<see cref="CameraOptions.AckTimeout"/>, <see cref="CameraOptions.LocalAckTimeout"/>); defaults when null.</param>
    /// <param name="notifyOwner">When true the owner gets <see cref="StreamEnded"/> as soon as the stream ends and must pass it to <see cref="HandleStreamEnded"/>.</param>
    public FrameFanOut(IActorContext context, CameraOptions? options = null, bool notifyOwner = false)
    {
        options ??= new CameraOptions();
        _context = context;
        _owner = context.Self;
        _notifyOwner = notifyOwner;
        _ackTimeout = options.AckTimeout;
        _localAckTimeout = options.LocalAckTimeout;
        _log = context.GetLogger();
        _name = context.Self.Path.Name;
    }

    /// <summary>Number of live subscriptions.</summary>
    public int Count => _subscriptions.Count;

    /// <summary>The live subscriptions.</summary>
    public IEnumerable<Subscribe> Subscriptions => _subscriptions.Values;

    /// <summary>How many times the stream was started (1 after the first subscription; more after restarts).</summary>
    public int Generation => _generation;

    /// <summary>Starts a subscription (idempotent per id); <paramref name="initial"/> is sent first when given.</summary>
    /// <returns>False when the id already exists.</returns>
    public bool Add(Subscribe request, VideoFrame? initial)
    {
        if (_subscriptions.ContainsKey(request.SubscriptionId)) return false;
        var running = EnsureStream(); // re-attaches the existing subscriptions first when the stream had died
        _subscriptions.Add(request.SubscriptionId, request);
        // When the stream cannot restart yet, the subscription is attached by the next (re)start.
        if (running) _control!.Post(new FanOutSinkStage.Add(request, initial));
        _context.Watch(request.Subscriber);
        return true;
    }

    /// <summary>Ends one subscription (its subscriber gets <see cref="SubscriptionCompleted"/>).</summary>
    public bool Remove(string subscriptionId)
    {
        if (!_subscriptions.Remove(subscriptionId, out var s)) return false;
        if (EnsureStream()) _control!.Post(new FanOutSinkStage.Remove(subscriptionId, Silent: false));
        if (!_subscriptions.Values.Any(x => x.Subscriber.Equals(s.Subscriber))) _context.Unwatch(s.Subscriber);
        return true;
    }

    /// <summary>Ends every subscription of a stopped subscriber; returns how many there were.</summary>
    public int RemoveSubscriber(IActorRef subscriber)
    {
        var ids = _subscriptions.Where(p => p.Value.Subscriber.Equals(subscriber)).Select(p => p.Key).ToList();
        foreach (var id in ids) _subscriptions.Remove(id);
        if (ids.Count > 0 && EnsureStream())
            foreach (var id in ids) _control!.Post(new FanOutSinkStage.Remove(id, Silent: true));
        return ids.Count;
    }

    /// <summary>Offers a frame to every subscription (each keeps only its newest pending frame).</summary>
    public void Publish(VideoFrame frame)
    {
        if (_subscriptions.Count == 0 || !EnsureStream()) return;
        _source!.Tell(frame);
    }

    /// <summary>The owner got <see cref="StreamEnded"/>: starts a new stream when that one was current and has subscriptions.</summary>
    public void HandleStreamEnded(StreamEnded msg)
    {
        if (_ended || msg.Generation != _generation || _subscriptions.Count == 0) return;
        if (EnsureStream()) return;
        // Too soon after the last start: try again when allowed.
        var wait = MinRestartInterval - TimeSpan.FromMilliseconds(Environment.TickCount64 - _lastStartTicks);
        _context.System.Scheduler.ScheduleTellOnce(wait > TimeSpan.Zero ? wait : TimeSpan.FromMilliseconds(10), _owner, msg, ActorRefs.NoSender);
    }

    /// <summary>
    /// Tells every subscriber its subscription ended, from the owner's <c>PostStop</c>: the stream dies with the owner,
    /// so the signal is sent directly, letting subscribers re-subscribe at once (e.g. after a shard hand-off).
    /// </summary>
    public void EndAll()
    {
        _ended = true;
        foreach (var request in _subscriptions.Values)
            request.Subscriber.Tell(new SubscriptionCompleted(request.Key, request.SubscriptionId));
        _subscriptions.Clear();
        _source?.Tell(new Status.Success(Akka.Done.Instance));
        _source = null;
    }

    /// <summary>
    /// Makes sure a live stream runs: starts the first one, or, when the current one has ended, a new one with every
    /// subscription re-attached (counted and logged once). False when the stream is dead and may not restart yet.
    /// </summary>
    private bool EnsureStream()
    {
        if (_ended) return false;
        if (_control is not null && !_control.Completion.IsCompleted) return true;
        var now = Environment.TickCount64;
        if (_control is not null)
        {
            if (now - _lastStartTicks < MinRestartInterval.TotalMilliseconds) return false;
            var failure = _control.Completion.Exception?.GetBaseException();
            var reason = failure is null ? "completed" : "failed";
            StreamRecoveryMetrics.StageRestarts.Add(1, new KeyValuePair<string, object?>("reason", reason));
            _log.Warning("Fan-out stream of {0} {1}{2}; restarting it with {3} subscription(s) re-attached",
                _name, reason, failure is null ? "" : $" ({failure.GetType().Name}: {failure.Message})", _subscriptions.Count);
        }
        _lastStartTicks = now;
        Start();
        foreach (var request in _subscriptions.Values) _control!.Post(new FanOutSinkStage.Add(request, null));
        return true;
    }

    private void Start()
    {
        _materializer ??= _context.Materializer(FanOutDispatcher.MaterializerSettings(_context.System));
        var generation = ++_generation;
        var stage = new FanOutSinkStage(_ackTimeout, _localAckTimeout, _log, _name, _notifyOwner ? "relay" : "camera");
        var (source, control) = Source.ActorRef<VideoFrame>(1, OverflowStrategy.DropHead)
            .Conflate((_, newer) => newer)
            .ToMaterialized(Sink.FromGraph(stage), Keep.Both)
            .Run(_materializer);
        _source = source;
        _control = control;
        if (_notifyOwner)
        {
            var owner = _owner;
            control.Completion.ContinueWith(_ => owner.Tell(new StreamEnded(generation)), CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>Test seam: fails the running stream from inside its stage (as a bug in the stage would).</summary>
    internal void CrashStageForTest(Exception error) => _control?.Post(new FanOutSinkStage.Crash(error));

    /// <summary>The fan-out stream of <paramref name="Generation"/> has stopped (see <see cref="HandleStreamEnded"/>).</summary>
    public sealed record StreamEnded(int Generation) : INoSerializationVerificationNeeded, IDeadLetterSuppression;
}
