using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Stage;
using Router.Actors.Messages;
using Router.Actors.Metrics;

namespace Router.Actors.Camera;

/// <summary>
/// The sink of a camera's one fan-out stream (see <see cref="FrameFanOut"/>): it keeps, per subscription, at most one
/// frame in flight (sent, not yet acknowledged) and one pending (the newest frame that arrived meanwhile; a newer one
/// replaces it: conflation per subscriber), sends a pending frame when the subscriber answers <see cref="StreamAck"/>
/// and the subscription's max_fps interval has passed. One stage serves every subscriber of the camera, so a frame costs
/// one stream element however many subscribers there are, and a slow subscriber only delays its own frames.
/// A local subscription's frames carry a sender of its own (<see cref="AckRef"/>), so its acknowledgement is a flag, not
/// a message through the stage's mailbox; a remote subscriber's acknowledgements are matched to subscriptions by their
/// sender, first in first out per sender (a subscriber receives and acknowledges in order).
/// <para>
/// Every wait has a deadline: one sweep timer per stream (running only while some slot awaits an ack) re-arms a slot
/// whose ack did not come within the ack timeout (remote and local subscribers have their own), so a frame or an ack
/// lost over at-most-once remoting costs one frame, not the subscription. A send that throws drops only that
/// subscription. Control messages (<see cref="Add"/>, <see cref="Remove"/>) reach the running stage through its
/// materialized <see cref="Control"/> (an async callback), never through state on this blueprint; the control's
/// <see cref="Control.Completion"/> tells the owner when the stream has ended so it can start a new one.
/// </para>
/// </summary>
internal sealed class FanOutSinkStage : GraphStageWithMaterializedValue<SinkShape<VideoFrame>, FanOutSinkStage.Control>
{
    /// <summary>The longest max_fps interval the stage keeps: one hour (a slower max_fps is paced at one frame per hour).</summary>
    public const long MaxIntervalMs = 3_600_000;

    /// <summary>The sweep never runs more often than this, whatever the ack timeouts (ms).</summary>
    private const long MinSweepMs = 50;

    private readonly Inlet<VideoFrame> _in = new("FanOut.in");
    private readonly long _remoteAckTimeoutMs;
    private readonly long _localAckTimeoutMs;
    private readonly ILoggingAdapter? _log;
    private readonly string _owner;
    private readonly string _tier;

    /// <summary>Adds a subscription (and sends it <paramref name="Initial"/> first when given).</summary>
    public sealed record Add(Subscribe Request, VideoFrame? Initial);

    /// <summary>Ends one subscription: its subscriber gets <see cref="SubscriptionCompleted"/> unless <paramref name="Silent"/>.</summary>
    public sealed record Remove(string SubscriptionId, bool Silent);

    /// <summary>Test seam: throws <paramref name="Error"/> inside the stage (as a bug would), failing the stream.</summary>
    internal sealed record Crash(Exception Error);

    /// <param name="remoteAckTimeout">Ack deadline of remote subscribers; zero or negative: none.</param>
    /// <param name="localAckTimeout">Ack deadline of local subscribers; zero or negative: none.</param>
    /// <param name="log">Where recoveries are logged (once each), or null.</param>
    /// <param name="owner">Names the owner (camera or relay) in log lines.</param>
    /// <param name="tier">Where the stage runs, the <c>at</c> tag of conflation drops: <c>camera</c> or <c>relay</c>.</param>
    public FanOutSinkStage(TimeSpan remoteAckTimeout, TimeSpan localAckTimeout, ILoggingAdapter? log = null, string owner = "fan-out", string tier = "camera")
    {
        _tier = tier;
        _remoteAckTimeoutMs = ToDeadlineMs(remoteAckTimeout);
        _localAckTimeoutMs = ToDeadlineMs(localAckTimeout);
        _log = log;
        _owner = owner;
        Shape = new SinkShape<VideoFrame>(_in);
    }

    public override SinkShape<VideoFrame> Shape { get; }

    public override ILogicAndMaterializedValue<Control> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var control = new Control();
        return new LogicAndMaterializedValue<Control>(new Logic(this, control), control);
    }

    /// <summary>A deadline in ms, or 0 for none (zero, negative, infinite).</summary>
    private static long ToDeadlineMs(TimeSpan timeout) =>
        timeout <= TimeSpan.Zero || timeout == Timeout.InfiniteTimeSpan ? 0 : Math.Max(1, (long)Math.Min(timeout.TotalMilliseconds, long.MaxValue / 4));

    /// <summary>
    /// The minimum interval between two frames of a subscription for its max_fps, in ms: 0 (no cap) for 0, negative,
    /// NaN or infinite values, at most <see cref="MaxIntervalMs"/> (so a tiny max_fps such as 1e-17 cannot overflow a
    /// <see cref="TimeSpan"/>).
    /// </summary>
    public static long MinIntervalMs(double maxFps)
    {
        if (!(maxFps > 0) || double.IsInfinity(maxFps)) return 0;
        var ms = Math.Ceiling(1000.0 / maxFps); // +inf for subnormal values
        return ms >= MaxIntervalMs ? MaxIntervalMs : (long)ms;
    }

    /// <summary>
    /// The materialized handle of a running stage: posts commands into it (thread-safe; commands posted before the
    /// stage has started are applied when it starts, in order) and tells when it has stopped.
    /// </summary>
    public sealed class Control
    {
        private readonly object _gate = new();
        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private List<object>? _early = [];
        private Action<object>? _callback;
        private volatile bool _stopped;

        /// <summary>Completes when the stage has stopped: successfully when its upstream completed, faulted when it failed.</summary>
        public Task Completion => _completion.Task;

        /// <summary>Applies <paramref name="command"/> (<see cref="Add"/>, <see cref="Remove"/>) in the stage; dropped once it has stopped.</summary>
        public void Post(object command)
        {
            if (_stopped) return;
            Action<object>? callback;
            lock (_gate)
            {
                if (_callback is null)
                {
                    _early?.Add(command);
                    return;
                }
                callback = _callback;
            }
            callback(command);
        }

        /// <summary>Called by the stage when it starts: returns the commands posted before, in order.</summary>
        internal List<object> Started(Action<object> callback)
        {
            lock (_gate)
            {
                var early = _early ?? [];
                _early = null;
                _callback = callback;
                return early;
            }
        }

        internal void Stopped(Exception? failure)
        {
            _stopped = true;
            if (failure is null) _completion.TrySetResult();
            else _completion.TrySetException(failure);
        }
    }

    /// <summary>One subscription's state inside the stage.</summary>
    private sealed class Slot(Subscribe request, long ackTimeoutMs)
    {
        public Subscribe Request { get; } = request;
        public IActorRef Target { get; } = request.Subscriber;
        public bool RemoteTarget { get; } = request.Subscriber.Path.Address.HasGlobalScope;
        public long MinIntervalMs { get; } = FanOutSinkStage.MinIntervalMs(request.MaxFps);
        public long AckTimeoutMs { get; } = ackTimeoutMs;
        public bool AwaitingAck;
        public bool Started; // the subscriber acked SubscriptionStarted
        public bool Removed;
        public bool TimerArmed; // a max_fps timer is scheduled for this slot
        public bool RearmLogged; // logged a re-arm since the last ack (log once per outage, not per re-arm)
        public VideoFrame? Pending;
        public AckRef? Ack; // a local subscriber's acknowledgements (null: remote, matched by sender through _awaiting)
        public long LastSentTicks = long.MinValue / 2;
        public long AwaitSinceTicks;
    }

    private sealed class Logic : TimerGraphStageLogic, IInHandler
    {
        private const string SweepKey = "ack-sweep";
        private readonly FanOutSinkStage _stage;
        private readonly Control _control;
        private readonly Dictionary<string, Slot> _slots = new();
        private readonly List<Slot> _active = [];
        // Per subscriber, the slots whose signal or frame awaits its ack, in send order (removed slots stay until acked).
        private readonly Dictionary<IActorRef, Queue<Slot>> _awaiting = new(ActorRefByUid.Instance);
        private readonly HashSet<IActorRef> _watched = [];
        private StageActor _self = null!;
        private IActorRefProvider _provider = null!;
        private long _ackRefs;
        private long _sweepMs; // 0: sweep not running
        private int _remoteSlots;
        private bool _purge; // some slot in _active was dropped (a send threw)
        private Exception? _failure;

        public Logic(FanOutSinkStage stage, Control control) : base(stage.Shape)
        {
            _stage = stage;
            _control = control;
            SetHandler(stage._in, this);
        }

        public override void PreStart()
        {
            _self = GetStageActor(OnMessage);
            _provider = ((IInternalActorRef)_self.Ref).Provider;
            var early = _control.Started(GetAsyncCallback<object>(OnCommand));
            foreach (var command in early) Apply(command);
            Purge();
            Pull(_stage._in);
        }

        public override void PostStop() => _control.Stopped(_failure);

        public void OnPush()
        {
            var frame = Grab(_stage._in);
            // Inlined Guarded (no closure per frame); replaced frames are counted once per frame, not per subscription.
            try
            {
                var conflated = 0;
                for (var i = 0; i < _active.Count; i++)
                {
                    var slot = _active[i];
                    if (slot.Pending is not null) conflated++;
                    slot.Pending = frame; // newest wins
                    TrySend(slot);
                }
                if (conflated > 0) TenantMetrics.FramesConflated(frame.Key.Tenant, _stage._tier, conflated);
                Purge();
            }
            catch (Exception e)
            {
                _failure = e;
                FailStage(e);
            }
            if (!IsClosed(_stage._in)) Pull(_stage._in);
        }

        public void OnUpstreamFinish()
        {
            foreach (var slot in _active) Signal(slot, new SubscriptionCompleted(slot.Request.Key, slot.Request.SubscriptionId));
            CompleteStage();
        }

        public void OnUpstreamFailure(Exception e)
        {
            foreach (var slot in _active) Signal(slot, new SubscriptionFailed(slot.Request.Key, slot.Request.SubscriptionId, e.Message));
            _failure = e;
            FailStage(e);
        }

        private void OnCommand(object command) => Guarded(() => Apply(command));

        /// <summary>Runs a handler; an exception fails the stage with a completion that carries it (the owner restarts the stream).</summary>
        private void Guarded(Action action)
        {
            try
            {
                action();
                Purge();
            }
            catch (Exception e)
            {
                _failure = e;
                FailStage(e);
            }
        }

        private void Apply(object command)
        {
            switch (command)
            {
                case Add add when !_slots.ContainsKey(add.Request.SubscriptionId):
                    var slot = new Slot(add.Request, add.Request.Subscriber.Path.Address.HasGlobalScope ? _stage._remoteAckTimeoutMs : _stage._localAckTimeoutMs)
                    {
                        Pending = add.Initial,
                    };
                    if (!slot.RemoteTarget) slot.Ack = new AckRef(_self.Ref.Path / $"ack-{++_ackRefs}", _provider, _self.Ref, slot);
                    _slots[add.Request.SubscriptionId] = slot;
                    _active.Add(slot);
                    if (slot.RemoteTarget) _remoteSlots++;
                    try
                    {
                        if (_watched.Add(slot.Target)) _self.Watch(slot.Target);
                    }
                    catch (Exception e)
                    {
                        Drop(slot, e);
                        return;
                    }
                    // The subscriber acknowledges the start like a frame, so the first frame waits for it.
                    SendStarted(slot);
                    break;
                case Crash crash:
                    throw crash.Error;
                case Remove remove when _slots.TryGetValue(remove.SubscriptionId, out var removed):
                    Detach(removed);
                    if (!remove.Silent) Signal(removed, new SubscriptionCompleted(removed.Request.Key, removed.Request.SubscriptionId));
                    break;
            }
        }

        private void OnMessage((IActorRef Sender, object Message) args)
        {
            switch (args.Message)
            {
                case StreamAck:
                    if (!_awaiting.TryGetValue(args.Sender, out var queue) || !queue.TryDequeue(out var slot)) return;
                    Acked(slot);
                    Guarded(() => TrySend(slot));
                    break;
                case AckWake wake:
                    if (!wake.Ack.Slot.Removed) Guarded(() => TrySend(wake.Ack.Slot)); // takes the ack
                    break;
                case Terminated t:
                    if (!_watched.Remove(t.ActorRef)) return;
                    _awaiting.Remove(t.ActorRef);
                    for (var i = _active.Count - 1; i >= 0; i--)
                        if (_active[i].Target.Equals(t.ActorRef)) Detach(_active[i]);
                    break;
            }
        }

        protected override void OnTimer(object timerKey) => Guarded(() =>
        {
            if (timerKey is Slot slot)
            {
                slot.TimerArmed = false;
                TrySend(slot);
            }
            else if (SweepKey.Equals(timerKey)) Sweep();
        });

        /// <summary>Re-arms every slot whose ack is overdue; stops the sweep when no slot awaits an ack.</summary>
        private void Sweep()
        {
            var now = Environment.TickCount64;
            var waiting = false;
            for (var i = 0; i < _active.Count; i++)
            {
                var slot = _active[i];
                if (!slot.AwaitingAck || slot.AckTimeoutMs == 0) continue;
                if (slot.Ack is not null) TrySend(slot); // takes an ack that came as a flag (and sends what is pending)
                if (!slot.AwaitingAck) continue;
                if (now - slot.AwaitSinceTicks <= slot.AckTimeoutMs)
                {
                    waiting = true;
                    continue;
                }
                Rearm(slot);
                waiting |= slot.AwaitingAck;
            }
            if (!waiting)
            {
                CancelTimer(SweepKey);
                _sweepMs = 0;
            }
        }

        /// <summary>The ack of <paramref name="slot"/>'s last send is overdue (lost frame or lost ack): send it the next one.</summary>
        private void Rearm(Slot slot)
        {
            Forget(slot, all: false); // so the subscriber's next ack is matched to the next send
            slot.AwaitingAck = false;
            StreamRecoveryMetrics.AckTimeouts.Add(1, new KeyValuePair<string, object?>("target", slot.RemoteTarget ? "remote" : "local"));
            if (!slot.RearmLogged)
            {
                slot.RearmLogged = true;
                _stage._log?.Warning("{0}: no ack from {1} (subscription {2}) for {3} ms; sending the next frame anyway (a frame or an ack was lost)",
                    _stage._owner, slot.Target, slot.Request.SubscriptionId, slot.AckTimeoutMs);
            }
            if (!slot.Started) SendStarted(slot); // the start signal itself (or its ack) was lost
            else TrySend(slot);
        }

        private void TrySend(Slot slot)
        {
            // A local subscriber's ack is a flag; with a frame pending, the next ack must also wake the stage (WakeOnAck).
            if (slot.AwaitingAck && !slot.Removed && !TakeAck(slot) && slot.Pending is not null && slot.Ack?.WakeOnAck() == true) Acked(slot);
            if (slot.Removed || slot.AwaitingAck || slot.Pending is null) return;
            var wait = slot.MinIntervalMs - (Environment.TickCount64 - slot.LastSentTicks);
            if (wait > 0)
            {
                // The deadline only moves when a frame is sent, so an armed timer already points at it.
                if (!slot.TimerArmed)
                {
                    slot.TimerArmed = true;
                    ScheduleOnce(slot, TimeSpan.FromMilliseconds(wait));
                }
                return;
            }
            var frame = slot.Pending;
            slot.Pending = null;
            slot.LastSentTicks = Environment.TickCount64;
            if (Send(slot, frame) && slot.RemoteTarget) RemoteTraffic.Record(slot.Request.Key.Tenant, frame.Jpeg.Length);
        }

        /// <summary>The subscriber acknowledged the last send of <paramref name="slot"/>.</summary>
        private static void Acked(Slot slot)
        {
            slot.AwaitingAck = false;
            slot.Started = true;
            slot.RearmLogged = false;
        }

        /// <summary>Takes a local subscriber's ack that arrived as a flag; true when there was one.</summary>
        private static bool TakeAck(Slot slot)
        {
            if (slot.Ack is not { } ack || !ack.TryTake()) return false;
            Acked(slot);
            return true;
        }

        private void SendStarted(Slot slot) => Send(slot, new SubscriptionStarted(slot.Request.Key, slot.Request.SubscriptionId));

        /// <summary>Sends a message that awaits an ack; false when the send threw (the slot is dropped).</summary>
        private bool Send(Slot slot, object message)
        {
            slot.AwaitingAck = true;
            slot.AwaitSinceTicks = Environment.TickCount64;
            IActorRef sender;
            if (slot.Ack is { } ack)
            {
                ack.Reset(); // a late ack of a send given up on (Rearm) must not count for this one
                sender = ack;
            }
            else
            {
                if (!_awaiting.TryGetValue(slot.Target, out var queue)) _awaiting[slot.Target] = queue = new Queue<Slot>(1);
                queue.Enqueue(slot);
                sender = _self.Ref;
            }
            try
            {
                slot.Target.Tell(message, sender);
            }
            catch (Exception e)
            {
                Drop(slot, e);
                return false;
            }
            if (slot.AckTimeoutMs > 0) EnsureSweep();
            // A frame already waits behind this send (the initial frame behind the start signal): its ack must wake us.
            if (slot.Pending is not null) TrySend(slot);
            return true;
        }

        /// <summary>A terminal signal: no ack expected.</summary>
        private void Signal(Slot slot, object message)
        {
            try
            {
                slot.Target.Tell(message, _self.Ref);
            }
            catch (Exception e)
            {
                _stage._log?.Warning("{0}: signalling {1} failed: {2}", _stage._owner, slot.Target, e.Message);
            }
        }

        /// <summary>Runs the sweep at half the shortest ack timeout in use (remote slots' when there are any).</summary>
        private void EnsureSweep()
        {
            var timeout = _remoteSlots > 0 && _stage._remoteAckTimeoutMs > 0 ? _stage._remoteAckTimeoutMs : _stage._localAckTimeoutMs;
            if (timeout == 0) timeout = _stage._remoteAckTimeoutMs;
            var every = Math.Max(MinSweepMs, timeout / 2);
            if (_sweepMs == every) return;
            _sweepMs = every;
            ScheduleRepeatedly(SweepKey, TimeSpan.FromMilliseconds(every));
        }

        /// <summary>Sending to <paramref name="slot"/>'s subscriber threw: that subscription ends, the others go on.</summary>
        private void Drop(Slot slot, Exception e)
        {
            StreamRecoveryMetrics.SendFailures.Add(1);
            _stage._log?.Warning("{0}: sending to {1} (subscription {2}) threw {3}: {4}; the subscription is dropped",
                _stage._owner, slot.Target, slot.Request.SubscriptionId, e.GetType().Name, e.Message);
            Release(slot);
            Forget(slot, all: true); // it will never ack
            _purge = true; // removed from _active after the current loop
        }

        /// <summary>Removes <paramref name="slot"/>'s first (or every) entry from its subscriber's ack queue.</summary>
        private void Forget(Slot slot, bool all)
        {
            if (!_awaiting.TryGetValue(slot.Target, out var queue)) return;
            var removed = false;
            for (int i = 0, n = queue.Count; i < n; i++)
            {
                var entry = queue.Dequeue();
                if ((all || !removed) && ReferenceEquals(entry, slot)) removed = true;
                else queue.Enqueue(entry);
            }
            if (queue.Count == 0 && all) _awaiting.Remove(slot.Target);
        }

        /// <summary>Ends a subscription inside the stage (its late ack is still matched, then ignored).</summary>
        private void Detach(Slot slot)
        {
            Release(slot);
            _active.Remove(slot);
        }

        /// <summary>Marks <paramref name="slot"/> removed: no pending frame, no pace timer, not counted as remote.</summary>
        private void Release(Slot slot)
        {
            _slots.Remove(slot.Request.SubscriptionId);
            slot.Removed = true;
            slot.Pending = null;
            if (slot.RemoteTarget) _remoteSlots--;
            if (!slot.TimerArmed) return;
            CancelTimer(slot);
            slot.TimerArmed = false;
        }

        private void Purge()
        {
            if (!_purge) return;
            _purge = false;
            _active.RemoveAll(s => s.Removed);
        }
    }

    /// <summary>
    /// The sender of the frames and signals a local subscription gets, so that its <see cref="StreamAck"/> (told to the
    /// sender, as the protocol says) is a flag the stage reads instead of a message through the stage actor's mailbox:
    /// the stage takes the flag when it next has something for the slot (a frame, a timer, the sweep). Only when the
    /// stage already holds a frame for the slot does the ack also wake it (<see cref="AckWake"/>). Both sides set their
    /// flag, then read the other's, each with a full fence, so a pending frame never waits for an ack that came.
    /// Any other message told to it goes on to the stage actor. Remote subscriptions keep the stage actor as sender
    /// (an ack over remoting is a message anyway).
    /// </summary>
    private sealed class AckRef(ActorPath path, IActorRefProvider provider, IActorRef stage, Slot slot) : MinimalActorRef
    {
        private int _acked; // 1: an ack came that the stage has not taken yet
        private int _wake; // 1: the stage holds a frame for the slot: the next ack must wake it

        public override ActorPath Path { get; } = path;

        public override IActorRefProvider Provider { get; } = provider;

        public Slot Slot { get; } = slot;

        protected override void TellInternal(object message, IActorRef sender)
        {
            if (message is not StreamAck)
            {
                stage.Tell(message, sender);
                return;
            }
            Interlocked.Exchange(ref _acked, 1);
            if (Volatile.Read(ref _wake) == 1 && Interlocked.Exchange(ref _wake, 0) == 1) stage.Tell(new AckWake(this), ActorRefs.NoSender);
        }

        /// <summary>Stage side: takes an ack that came; false when none did.</summary>
        public bool TryTake() => Volatile.Read(ref _acked) == 1 && Interlocked.Exchange(ref _acked, 0) == 1;

        /// <summary>Stage side, with a frame pending: asks to be woken by the next ack; true when it had already come (taken).</summary>
        public bool WakeOnAck()
        {
            Interlocked.Exchange(ref _wake, 1);
            if (!TryTake()) return false;
            Interlocked.Exchange(ref _wake, 0);
            return true;
        }

        /// <summary>Stage side, before a send: forgets an ack and a wake request of an earlier send.</summary>
        public void Reset()
        {
            Interlocked.Exchange(ref _wake, 0);
            Interlocked.Exchange(ref _acked, 0);
        }
    }

    /// <summary>A local subscriber acknowledged while the stage held a frame for it (see <see cref="AckRef"/>).</summary>
    private sealed record AckWake(AckRef Ack) : INoSerializationVerificationNeeded, IDeadLetterSuppression;

    /// <summary>
    /// Compares actor references as Akka does (<see cref="object.Equals(object)"/>: path and uid) but hashes by the uid
    /// alone, which equal references share: the ack of each frame and consumer looks its sender up, and Akka's own hash
    /// walks the path each time.
    /// </summary>
    private sealed class ActorRefByUid : IEqualityComparer<IActorRef>
    {
        public static readonly ActorRefByUid Instance = new();

        public bool Equals(IActorRef? x, IActorRef? y) => ReferenceEquals(x, y) || (x is not null && x.Equals(y));

        public int GetHashCode(IActorRef obj) => obj.Path.Uid.GetHashCode();
    }
}
