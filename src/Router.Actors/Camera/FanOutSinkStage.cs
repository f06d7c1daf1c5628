using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Stage;
using Router.Actors.Messages;

namespace Router.Actors.Camera;

/// <summary>
/// The sink of a camera's one fan-out stream (see <see cref="FrameFanOut"/>): it keeps, per subscription, at most one
/// frame in flight (sent, not yet acknowledged) and one pending (the newest frame that arrived meanwhile; a newer one
/// replaces it: conflation per subscriber), sends a pending frame when the subscriber answers <see cref="StreamAck"/>
/// and the subscription's max_fps interval has passed. One stage serves every subscriber of the camera, so a frame costs
/// one stream element however many subscribers there are, and a slow subscriber only delays its own frames.
/// Acknowledgements are matched to subscriptions by their sender, first in first out per sender (a subscriber receives
/// and acknowledges in order). Elements are <see cref="VideoFrame"/>s or <see cref="Wake"/> (there are
/// <see cref="Commands"/> to apply); every element applies the queued commands first.
/// </summary>
internal sealed class FanOutSinkStage : GraphStage<SinkShape<object>>
{
    private readonly Inlet<object> _in = new("FanOut.in");

    /// <summary>Tells the stage that <see cref="Commands"/> has work (an element of its own so it is never lost).</summary>
    public sealed class Wake
    {
        /// <summary>The one instance.</summary>
        public static readonly Wake Instance = new();

        private Wake() { }
    }

    /// <summary>Adds a subscription (and sends it <paramref name="Initial"/> first when given).</summary>
    public sealed record Add(Subscribe Request, VideoFrame? Initial);

    /// <summary>Ends one subscription: its subscriber gets <see cref="SubscriptionCompleted"/> unless <paramref name="Silent"/>.</summary>
    public sealed record Remove(string SubscriptionId, bool Silent);

    /// <summary>Commands from the owning actor, applied in order by the stage.</summary>
    public ConcurrentQueue<object> Commands { get; } = new();

    public FanOutSinkStage() => Shape = new SinkShape<object>(_in);

    public override SinkShape<object> Shape { get; }

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    /// <summary>One subscription's state inside the stage.</summary>
    private sealed class Slot(Subscribe request)
    {
        public Subscribe Request { get; } = request;
        public IActorRef Target { get; } = request.Subscriber;
        public bool RemoteTarget { get; } = request.Subscriber.Path.Address.HasGlobalScope;
        public long MinIntervalMs { get; } = request.MaxFps > 0 ? (long)Math.Ceiling(1000.0 / request.MaxFps) : 0;
        public bool AwaitingAck;
        public bool Removed;
        public VideoFrame? Pending;
        public long LastSentTicks = long.MinValue / 2;
    }

    private sealed class Logic : TimerGraphStageLogic, IInHandler
    {
        private readonly FanOutSinkStage _stage;
        private readonly Dictionary<string, Slot> _slots = new();
        private readonly List<Slot> _active = [];
        // Per subscriber, the slots whose signal or frame awaits its ack, in send order (removed slots stay until acked).
        private readonly Dictionary<IActorRef, Queue<Slot>> _awaiting = new();
        private readonly HashSet<IActorRef> _watched = [];
        private StageActor _self = null!;

        public Logic(FanOutSinkStage stage) : base(stage.Shape)
        {
            _stage = stage;
            SetHandler(stage._in, this);
        }

        public override void PreStart()
        {
            _self = GetStageActor(OnMessage);
            Pull(_stage._in);
        }

        public void OnPush()
        {
            var element = Grab(_stage._in);
            ApplyCommands();
            if (element is VideoFrame frame)
            {
                foreach (var slot in _active)
                {
                    slot.Pending = frame; // newest wins
                    TrySend(slot);
                }
            }
            Pull(_stage._in);
        }

        public void OnUpstreamFinish()
        {
            ApplyCommands();
            foreach (var slot in _active) Signal(slot, new SubscriptionCompleted(slot.Request.Key, slot.Request.SubscriptionId));
            CompleteStage();
        }

        public void OnUpstreamFailure(Exception e)
        {
            foreach (var slot in _active) Signal(slot, new SubscriptionFailed(slot.Request.Key, slot.Request.SubscriptionId, e.Message));
            FailStage(e);
        }

        private void ApplyCommands()
        {
            while (_stage.Commands.TryDequeue(out var command))
            {
                switch (command)
                {
                    case Add add when !_slots.ContainsKey(add.Request.SubscriptionId):
                        var slot = new Slot(add.Request) { Pending = add.Initial };
                        _slots[add.Request.SubscriptionId] = slot;
                        _active.Add(slot);
                        if (_watched.Add(slot.Target)) _self.Watch(slot.Target);
                        // The subscriber acknowledges the start like a frame, so the first frame waits for it.
                        Send(slot, new SubscriptionStarted(add.Request.Key, add.Request.SubscriptionId), countTime: false);
                        break;
                    case Remove remove when _slots.Remove(remove.SubscriptionId, out var removed):
                        removed.Removed = true;
                        removed.Pending = null;
                        _active.Remove(removed);
                        if (!remove.Silent) Signal(removed, new SubscriptionCompleted(removed.Request.Key, removed.Request.SubscriptionId));
                        break;
                }
            }
        }

        private void OnMessage((IActorRef Sender, object Message) args)
        {
            switch (args.Message)
            {
                case StreamAck:
                    if (!_awaiting.TryGetValue(args.Sender, out var queue) || !queue.TryDequeue(out var slot)) return;
                    slot.AwaitingAck = false;
                    TrySend(slot);
                    break;
                case Terminated t:
                    if (!_watched.Remove(t.ActorRef)) return;
                    _awaiting.Remove(t.ActorRef);
                    for (var i = _active.Count - 1; i >= 0; i--)
                    {
                        if (!_active[i].Target.Equals(t.ActorRef)) continue;
                        _active[i].Removed = true;
                        _slots.Remove(_active[i].Request.SubscriptionId);
                        _active.RemoveAt(i);
                    }
                    break;
            }
        }

        protected override void OnTimer(object timerKey)
        {
            if (timerKey is Slot slot) TrySend(slot);
        }

        private void TrySend(Slot slot)
        {
            if (slot.Removed || slot.AwaitingAck || slot.Pending is null) return;
            var wait = slot.MinIntervalMs - (Environment.TickCount64 - slot.LastSentTicks);
            if (wait > 0)
            {
                ScheduleOnce(slot, TimeSpan.FromMilliseconds(wait)); // replaces a pending one for this slot
                return;
            }
            var frame = slot.Pending;
            slot.Pending = null;
            Send(slot, frame, countTime: true);
            if (slot.RemoteTarget) Metrics.RemoteTraffic.Record(slot.Request.Key.EntityId, frame.Jpeg.Length);
        }

        private void Send(Slot slot, object message, bool countTime)
        {
            slot.AwaitingAck = true;
            if (countTime) slot.LastSentTicks = Environment.TickCount64;
            if (!_awaiting.TryGetValue(slot.Target, out var queue)) _awaiting[slot.Target] = queue = new Queue<Slot>(1);
            queue.Enqueue(slot);
            slot.Target.Tell(message, _self.Ref);
        }

        /// <summary>A terminal signal: no ack expected.</summary>
        private void Signal(Slot slot, object message) => slot.Target.Tell(message, _self.Ref);
    }
}
