using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using Router.Actors.Directory;
using Router.Actors.Identity;
using Router.Actors.Media;
using Router.Actors.Messages;
using Router.Actors.Metrics;
using Router.Actors.Quotas;
using Router.Protocol;

namespace Router.Actors.Camera;

/// <summary>
/// The sharded entity of one camera (one per <see cref="StreamKey"/>). It validates and size-checks every frame,
/// keeps the newest one and the camera's online state, and fans frames out through one Akka.Streams stream
/// (<see cref="FrameFanOut"/>): per subscriber one frame in flight until acknowledged and one pending (newest frame
/// wins), so a slow subscriber only loses its own frames. A configured pull source captures only while the camera has
/// subscribers.
/// </summary>
internal sealed class CameraActor : ReceiveActor, IWithTimers
{
    private const string StatusTimer = "status";
    private const string PullStopTimer = "pull-stop";
    private readonly StreamKey _key;
    private readonly CameraOptions _options;
    private readonly SizePolicy _sizePolicy;
    private readonly ReencodeGate _reencodeGate;
    private readonly IActorRef _directory;
    private readonly PullSourceDefinition? _pullSource;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly FrameFanOut _fanOut;
    private readonly Queue<long> _arrivals = new();
    private VideoFrame? _latest;
    private readonly FrameOrder _order;
    private long _sequence;
    private string _platform = string.Empty;
    private bool _online;
    private PullSourceCapture? _capture;
    private readonly TenantQuotas _quotas;
    private bool _quotaHeld;

    /// <summary>Creates the entity for <paramref name="entityId"/> (<c>{tenant}/{source_id}/{camera_id}</c>).</summary>
    /// <param name="entityId">The sharded entity id.</param>
    /// <param name="options">Entity settings.</param>
    /// <param name="pullSources">The pull-source catalog; when it has this key the entity captures while watched.</param>
    /// <param name="directory">The node's <see cref="CameraDirectoryActor"/>, which publishes status to the cluster.</param>
    /// <param name="quotas">The node's quota accounting: the camera holds one of its tenant's online-camera slots from
    /// its first frame until it goes offline or stops; null: no quotas.</param>
    public CameraActor(string entityId, CameraOptions options, PullSourceCatalog pullSources, IActorRef directory, TenantQuotas? quotas = null)
    {
        _quotas = quotas ?? TenantQuotas.Unlimited;
        _key = StreamKey.ParseEntityId(entityId);
        _options = options;
        _order = new FrameOrder(options.LatestFrameMaxAge);
        _sizePolicy = new SizePolicy(options.SizePolicy);
        _reencodeGate = ReencodeGate.For(Context.System, options.SizePolicy);
        _directory = directory;
        _fanOut = new FrameFanOut(Context, options);
        if (pullSources.TryGet(_key, out var pull))
        {
            _pullSource = pull;
            _platform = "pull";
        }

        Receive<IngestFrame>(HandleIngest);
        Receive<Reencoded>(HandleReencoded);
        Receive<PulledFrame>(HandleCaptured);
        Receive<Subscribe>(HandleSubscribe);
        Receive<Unsubscribe>(HandleUnsubscribe);
        Receive<Terminated>(HandleSubscriberTerminated);
        Receive<GetCameraStatus>(_ => Sender.Tell(CurrentStatus()));
        Receive<GetSnapshot>(_ => Sender.Tell(new Snapshot(_key, _latest)));
        Receive<StatusTick>(_ => HandleStatusTick());
        Receive<PullStopTick>(_ => { if (_fanOut.Count == 0) StopCapture(); });
        Receive<ReceiveTimeout>(_ => HandleIdle());
    }

    /// <summary>Props for the entity; see the constructor for the parameters.</summary>
    public static Props Props(string entityId, CameraOptions options, PullSourceCatalog pullSources, IActorRef directory, TenantQuotas? quotas = null) =>
        Akka.Actor.Props.Create(() => new CameraActor(entityId, options, pullSources, directory, quotas));

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart()
    {
        TenantMetrics.CameraEntity(1);
        Context.SetReceiveTimeout(_options.PassivateAfter);
        if (_pullSource is not null) PublishStatus();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        TenantMetrics.CameraEntity(-1);
        ReleaseQuota();
        StopCapture();
        if (_online || _pullSource is not null) _directory.Tell(new PublishCameraStatus(CurrentStatus() with { Online = false, Relays = 0 }));
        _fanOut.EndAll();
    }

    private void HandleIngest(IngestFrame msg)
    {
        if (msg.Platform is { Length: > 0 } platform && _pullSource is null) _platform = platform;
        if (msg.Jpeg.Length > _options.SizePolicy.HardLimitBytes)
        {
            Reject(Sender, FrameRejectReason.TooLarge,
                $"frame of {msg.Jpeg.Length} bytes is over the hard limit of {_options.SizePolicy.HardLimitBytes} bytes");
            return;
        }
        if (!JpegHeader.TryParse(msg.Jpeg, out var info, out var error))
        {
            Reject(Sender, FrameRejectReason.NotJpeg, error ?? "not a JPEG");
            return;
        }
        // Before any decode (and for pass-through frames too: consumers decode them): a header can claim 65535x65535.
        if (_sizePolicy.CheckPixels(info) is { } tooManyPixels)
        {
            Reject(Sender, FrameRejectReason.TooManyPixels, tooManyPixels);
            return;
        }
        // A camera going online takes one of its tenant's online-camera slots (cluster-wide), before any re-encoding.
        if (!_quotaHeld)
        {
            if (!_quotas.TryTakeCamera(_key.Tenant, out var overQuota))
            {
                Reject(Sender, FrameRejectReason.OnlineCamerasQuota, overQuota!);
                return;
            }
            _quotaHeld = true;
        }
        var timestamp = msg.TimestampMs > 0 ? msg.TimestampMs : DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (IsStale(timestamp))
        {
            Reject(Sender, FrameRejectReason.Stale, $"frame timestamp {timestamp} is older than the newest frame ({_latest!.TimestampMs})");
            return;
        }
        if (msg.Jpeg.Length <= _options.SizePolicy.PassThroughMaxBytes)
        {
            Accept(new SizePolicyResult(msg.Jpeg, info.Width, info.Height, false), timestamp, Sender);
            return;
        }

        // Re-encoding is CPU work: run it on the encode threads (EncodeThreads), never on the actor dispatcher, under the
        // node's bound (ReencodeGate); skipped when the sender has given up before its decode starts.
        var replyTo = Sender;
        var policy = _sizePolicy;
        var deadline = msg.TimeoutMs > 0 ? Environment.TickCount64 + msg.TimeoutMs : long.MaxValue;
        _reencodeGate.RunAsync(() => policy.Apply(msg.Jpeg, info), deadline).PipeTo(Self,
            success: result => new Reencoded(result, timestamp, replyTo, null),
            failure: ex => new Reencoded(null, timestamp, replyTo, ex));
    }

    private void HandleReencoded(Reencoded msg)
    {
        if (msg.Result is null)
        {
            var ex = msg.Failure is AggregateException { InnerException: { } inner } ? inner : msg.Failure;
            if (ex is FrameRejectedException rejected)
                Reject(msg.ReplyTo, rejected.Reason, rejected.Message);
            else
                Reject(msg.ReplyTo, FrameRejectReason.Undecodable, $"re-encoding failed: {ex?.Message}");
            return;
        }
        if (IsStale(msg.TimestampMs))
        {
            Reject(msg.ReplyTo, FrameRejectReason.Stale, "a newer frame arrived while this one was re-encoded");
            return;
        }
        Accept(msg.Result, msg.TimestampMs, msg.ReplyTo);
    }

    private void HandleCaptured(PulledFrame msg)
    {
        // Pull-source frames take the same path as pushed ones; nobody waits for the reply.
        Self.Tell(new IngestFrame(_key, msg.Frame.Jpeg, msg.Frame.TimestampMs, null), ActorRefs.Nobody);
    }

    /// <summary>A frame is stale when older than the newest one, unless the newest is itself old (device clock reset).</summary>
    private bool IsStale(long timestampMs) => !_order.Accepts(timestampMs, Environment.TickCount64);

    private void Accept(SizePolicyResult result, long timestampMs, IActorRef replyTo)
    {
        var frame = new VideoFrame(_key, result.Jpeg, result.Width, result.Height, timestampMs, ++_sequence, result.Reencoded);
        _latest = frame;
        _order.Passed(timestampMs, Environment.TickCount64);
        _arrivals.Enqueue(_order.LastPassedTicks);
        _fanOut.Publish(frame);
        TenantMetrics.FrameIngested(_key.Tenant, result.Jpeg.Length);
        if (!replyTo.IsNobody()) replyTo.Tell(new FrameAccepted(result.Width, result.Height, result.Jpeg.Length, result.Reencoded));
        if (!_online)
        {
            _online = true;
            PublishStatus();
            Timers.StartPeriodicTimer(StatusTimer, StatusTick.Instance, _options.StatusInterval);
        }
    }

    private void Reject(IActorRef replyTo, FrameRejectReason reason, string message)
    {
        _log.Debug("Camera {0}: frame rejected ({1}): {2}", _key, reason, message);
        IngestMetrics.RecordRejected(_key.Tenant, reason);
        if (!replyTo.IsNobody()) replyTo.Tell(new FrameRejected(reason, message));
    }

    private void HandleSubscribe(Subscribe msg)
    {
        var initial = _latest is not null && Environment.TickCount64 - _order.LastPassedTicks < _options.LatestFrameMaxAge.TotalMilliseconds ? _latest : null;
        if (!_fanOut.Add(msg, initial)) return;
        if (_pullSource is not null)
        {
            Timers.Cancel(PullStopTimer); // a subscription within PullStopAfter keeps the running capture
            if (_capture is null) StartCapture(_pullSource);
        }
        _log.Debug("Camera {0}: subscription {1} by {2} (max_fps {3}); {4} in total", _key, msg.SubscriptionId, msg.Subscriber, msg.MaxFps, _fanOut.Count);
    }

    private void HandleUnsubscribe(Unsubscribe msg)
    {
        if (_fanOut.Remove(msg.SubscriptionId)) AfterSubscriberLeft();
    }

    private void HandleSubscriberTerminated(Terminated msg)
    {
        if (_fanOut.RemoveSubscriber(msg.ActorRef) > 0) AfterSubscriberLeft();
    }

    private void AfterSubscriberLeft()
    {
        if (_fanOut.Count > 0 || _capture is null) return;
        if (_options.PullStopAfter > TimeSpan.Zero) Timers.StartSingleTimer(PullStopTimer, PullStopTick.Instance, _options.PullStopAfter);
        else StopCapture();
    }

    private void StartCapture(PullSourceDefinition source)
    {
        var self = Self;
        _capture = new PullSourceCapture(source.Url, _options.PullJpegQuality, frame => self.Tell(new PulledFrame(frame)),
            maxFrameBytes: _options.SizePolicy.HardLimitBytes);
        _capture.Start();
        _log.Info("Camera {0}: pull capture started from {1}", _key, source.Url);
    }

    private void StopCapture()
    {
        if (_capture is null) return;
        var capture = _capture;
        _capture = null;
        // Joining the capture thread blocks (up to 2 s): on a thread of its own, off the thread pool the actors share.
        new Thread(capture.Dispose) { IsBackground = true, Name = "capture stop" }.Start();
        _log.Info("Camera {0}: pull capture stopped (no subscriptions)", _key);
    }

    private void HandleStatusTick()
    {
        var offline = Environment.TickCount64 - _order.LastPassedTicks > _options.OfflineAfter.TotalMilliseconds;
        if (offline)
        {
            _online = false;
            Timers.Cancel(StatusTimer);
            ReleaseQuota();
        }
        PublishStatus();
    }

    private void HandleIdle()
    {
        if (_fanOut.Count > 0 || _online) return;
        _log.Debug("Camera {0}: idle, passivating", _key);
        Context.Parent.Tell(new Passivate(PoisonPill.Instance));
    }

    private void ReleaseQuota()
    {
        if (!_quotaHeld) return;
        _quotaHeld = false;
        _quotas.ReleaseCamera(_key.Tenant);
    }

    private void PublishStatus() => _directory.Tell(new PublishCameraStatus(CurrentStatus()));

    private CameraStatus CurrentStatus()
    {
        var now = Environment.TickCount64;
        var window = 2000;
        while (_arrivals.Count > 0 && now - _arrivals.Peek() > window) _arrivals.Dequeue();
        var fps = Math.Round(_arrivals.Count * 1000.0 / window, 1);
        return new CameraStatus(_key, _online || _pullSource is not null, _platform, _latest?.TimestampMs ?? 0, fps,
            _latest?.Width ?? 0, _latest?.Height ?? 0, _fanOut.Count);
    }

    private sealed record Reencoded(SizePolicyResult? Result, long TimestampMs, IActorRef ReplyTo, Exception? Failure) : INoSerializationVerificationNeeded;

    private sealed record PulledFrame(CapturedFrame Frame) : INoSerializationVerificationNeeded;

    private sealed class StatusTick : INotInfluenceReceiveTimeout, INoSerializationVerificationNeeded
    {
        public static readonly StatusTick Instance = new();
    }

    /// <summary>Stops the capture of a pull source if it still has no subscription (<see cref="CameraOptions.PullStopAfter"/>).</summary>
    private sealed class PullStopTick : INoSerializationVerificationNeeded
    {
        public static readonly PullStopTick Instance = new();
    }
}
