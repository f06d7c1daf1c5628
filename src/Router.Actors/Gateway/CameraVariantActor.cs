using Akka.Actor;
using Akka.Event;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Media;
using Router.Actors.Messages;
using Router.Actors.Metrics;

namespace Router.Actors.Gateway;

/// <summary>
/// One variant (<see cref="VariantSpec"/>) of one camera on one gateway, a child of the camera's
/// <see cref="CameraRelayActor"/>: it gets the relay's full-size frames, encodes each ONCE (<see cref="FrameVariants"/>,
/// off the actor dispatcher under the gateway's <see cref="VariantEncodeGate"/>) and fans the result out to every
/// consumer of the variant through its own <see cref="FrameFanOut"/>, where, as for the full-size frames, the JSON and
/// binary encodings are built once and shared. At most one encode is in flight and one frame waits; a newer frame
/// replaces the waiting one (counted as <c>router.variant.dropped</c>), so a variant that cannot keep up loses its
/// own frames without slowing the relay, the full-size stream or other variants. Created by the relay with its first
/// consumer, stopped by it after its last.
/// </summary>
internal sealed class CameraVariantActor : ReceiveActor
{
    private readonly StreamKey _key;
    private readonly VariantSpec _spec;
    private readonly VariantSpec _encodeSpec;
    private readonly VariantEncodeGate _gate;
    private readonly FrameFanOut _fanOut;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private VideoFrame? _pending;
    private VideoFrame? _lastEncoded;
    private bool _encoding;
    private bool _failureLogged;

    /// <param name="key">The camera.</param>
    /// <param name="spec">The variant as asked for (quality 0: <see cref="VariantOptions.DefaultQuality"/>, and frames
    /// that fit its bounds pass through unchanged, see <see cref="VariantSpec.PassesThrough"/>).</param>
    /// <param name="options">Camera settings (fan-out ack timeouts, <see cref="CameraOptions.Variants"/>).</param>
    /// <param name="gate">The gateway's encode bound.</param>
    public CameraVariantActor(StreamKey key, VariantSpec spec, CameraOptions options, VariantEncodeGate gate)
    {
        _key = key;
        _spec = spec;
        _encodeSpec = spec.WithDefaultQuality(options.Variants.DefaultQuality);
        _gate = gate;
        _fanOut = new FrameFanOut(Context, options, notifyOwner: true);
        Receive<VariantSubscribe>(HandleSubscribe);
        Receive<Unsubscribe>(m => _fanOut.Remove(m.SubscriptionId));
        Receive<Terminated>(m => _fanOut.RemoveSubscriber(m.ActorRef));
        Receive<FrameFanOut.StreamEnded>(_fanOut.HandleStreamEnded);
        Receive<VideoFrame>(HandleSourceFrame);
        Receive<Encoded>(HandleEncoded);
    }

    /// <summary>Props of a variant; see the constructor.</summary>
    public static Props Props(StreamKey key, VariantSpec spec, CameraOptions options, VariantEncodeGate gate) =>
        Akka.Actor.Props.Create(() => new CameraVariantActor(key, spec, options, gate));

    /// <inheritdoc />
    protected override void PreStart() => VariantMetrics.Variant(_key.Tenant, 1);

    /// <inheritdoc />
    protected override void PostStop()
    {
        VariantMetrics.Variant(_key.Tenant, -1);
        _fanOut.EndAll();
    }

    /// <summary>
    /// A consumer joins: it gets the newest encoded frame at once when that is at least as new as the relay's recent
    /// frame, else the relay's frame is encoded for it (and everyone else).
    /// </summary>
    private void HandleSubscribe(VariantSubscribe msg)
    {
        var initial = msg.Latest is not null && _lastEncoded is not null && _lastEncoded.TimestampMs >= msg.Latest.TimestampMs ? _lastEncoded : null;
        _fanOut.Add(msg.Request, initial);
        if (initial is null && msg.Latest is not null && !_encoding) HandleSourceFrame(msg.Latest);
    }

    private void HandleSourceFrame(VideoFrame frame)
    {
        if (_encoding)
        {
            if (_pending is not null) VariantMetrics.DroppedFrame(_key.Tenant);
            _pending = frame;
            return;
        }
        // A frame that fits and needs no quality change (e.g. width=1920 of a 640-wide camera) goes on as it is.
        if (_spec.PassesThrough(frame.Width, frame.Height)) Publish(frame);
        else StartEncode(frame);
    }

    private void StartEncode(VideoFrame frame)
    {
        _encoding = true;
        var spec = _encodeSpec;
        _gate.RunAsync(() => FrameVariants.Encode(frame, spec)).PipeTo(Self,
            success: encoded => new Encoded(encoded, null),
            failure: e => new Encoded(null, e));
    }

    private void HandleEncoded(Encoded msg)
    {
        _encoding = false;
        if (msg.Frame is not null)
        {
            VariantMetrics.Encoded(_key.Tenant);
            Publish(msg.Frame);
        }
        else
        {
            VariantMetrics.Failed(_key.Tenant);
            if (!_failureLogged)
                _log.Warning("Variant {0} of {1}: a frame could not be encoded ({2}); skipping such frames", _spec, _key, msg.Error?.GetBaseException().Message);
            _failureLogged = true;
        }
        if (_pending is null) return;
        var next = _pending;
        _pending = null;
        HandleSourceFrame(next);
    }

    private void Publish(VideoFrame frame)
    {
        _lastEncoded = frame;
        _fanOut.Publish(frame);
    }

    private sealed record Encoded(VideoFrame? Frame, Exception? Error) : INoSerializationVerificationNeeded;
}

/// <summary>The relay hands a consumer's subscription to its variant, with the relay's recent frame (or null).</summary>
internal sealed record VariantSubscribe(Subscribe Request, VideoFrame? Latest) : INoSerializationVerificationNeeded;
