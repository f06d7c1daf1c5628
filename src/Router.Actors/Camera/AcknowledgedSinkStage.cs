using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Stage;
using Router.Actors.Messages;

namespace Router.Actors.Camera;

/// <summary>
/// Sink of one subscription stream: sends each <see cref="VideoFrame"/> to the subscriber actor and pulls the next
/// element only after the subscriber answered <see cref="StreamAck"/> (and, with a rate cap, after the minimum
/// interval). Unlike <c>Sink.ActorRefWithAck</c> it keeps no buffer of its own, so a subscription holds at most one
/// frame in flight plus the one newest frame waiting upstream in the drop-head buffer.
/// </summary>
internal sealed class AcknowledgedSinkStage : GraphStage<SinkShape<VideoFrame>>
{
    private readonly Inlet<VideoFrame> _in = new("AcknowledgedSink.in");
    private readonly IActorRef _target;
    private readonly Subscribe _subscription;
    private readonly TimeSpan _minInterval;
    private readonly bool _remoteTarget;

    /// <param name="subscription">The subscription: its subscriber receives the signals and frames.</param>
    public AcknowledgedSinkStage(Subscribe subscription)
    {
        _subscription = subscription;
        _target = subscription.Subscriber;
        // A local reference's address has no host; a remote one does (frames to it cross remoting).
        _remoteTarget = _target.Path.Address.HasGlobalScope;
        _minInterval = subscription.MaxFps > 0 ? TimeSpan.FromSeconds(1.0 / subscription.MaxFps) : TimeSpan.Zero;
        Shape = new SinkShape<VideoFrame>(_in);
    }

    public override SinkShape<VideoFrame> Shape { get; }

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    private sealed class Logic : TimerGraphStageLogic, IInHandler
    {
        private const string PaceTimer = "pace";
        private readonly AcknowledgedSinkStage _stage;
        private bool _awaitingAck;
        private long _lastSentTicks;

        public Logic(AcknowledgedSinkStage stage) : base(stage.Shape)
        {
            _stage = stage;
            SetHandler(stage._in, this);
        }

        public override void PreStart()
        {
            var self = GetStageActor(OnMessage);
            self.Watch(_stage._target);
            _awaitingAck = true;
            _stage._target.Tell(new SubscriptionStarted(_stage._subscription.Key, _stage._subscription.SubscriptionId), self.Ref);
        }

        private void OnMessage((IActorRef Sender, object Message) args)
        {
            switch (args.Message)
            {
                case StreamAck:
                    _awaitingAck = false;
                    PullWhenReady();
                    break;
                case Terminated t when t.ActorRef.Equals(_stage._target):
                    CompleteStage();
                    break;
            }
        }

        public void OnPush()
        {
            var frame = Grab(_stage._in);
            _awaitingAck = true;
            _lastSentTicks = Environment.TickCount64;
            _stage._target.Tell(frame, StageActor.Ref);
            if (_stage._remoteTarget) Metrics.RemoteTraffic.Record(_stage._subscription.Key.EntityId, frame.Jpeg.Length);
        }

        public void OnUpstreamFinish()
        {
            _stage._target.Tell(new SubscriptionCompleted(_stage._subscription.Key, _stage._subscription.SubscriptionId), StageActor.Ref);
            CompleteStage();
        }

        public void OnUpstreamFailure(Exception e)
        {
            _stage._target.Tell(new SubscriptionFailed(_stage._subscription.Key, _stage._subscription.SubscriptionId, e.Message), StageActor.Ref);
            FailStage(e);
        }

        protected override void OnTimer(object timerKey) => PullWhenReady();

        private void PullWhenReady()
        {
            if (_awaitingAck || HasBeenPulled(_stage._in) || IsClosed(_stage._in)) return;
            var wait = _stage._minInterval - TimeSpan.FromMilliseconds(Environment.TickCount64 - _lastSentTicks);
            if (wait > TimeSpan.Zero)
            {
                ScheduleOnce(PaceTimer, wait); // replaces a pending one with the same key
                return;
            }
            Pull(_stage._in);
        }
    }
}
