using Akka.Actor;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Media;
using Router.Actors.Messages;
using Router.Actors.Metrics;

namespace Router.Actors.Gateway;

/// <summary>
/// The variants of one camera inside its gateway relay (<see cref="CameraRelayActor"/>): one
/// <see cref="CameraVariantActor"/> child per distinct <see cref="VariantSpec"/>, started with its first subscription
/// and stopped after its last. At most <see cref="VariantOptions.MaxPerCamera"/> variants live at once; a subscription
/// for another one joins the nearest existing variant (by pixel count of the target size, then quality). The relay
/// passes every accepted frame to each variant.
/// </summary>
internal sealed class RelayVariants
{
    private readonly IActorContext _context;
    private readonly StreamKey _key;
    private readonly CameraOptions _options;
    private readonly VariantEncodeGate _gate;
    private readonly Dictionary<VariantSpec, Entry> _variants = new();
    private readonly Dictionary<string, (Entry Entry, IActorRef Subscriber)> _subscriptions = new();
    private int _counter;

    /// <param name="context">The relay's context (variants are its children).</param>
    /// <param name="key">The camera.</param>
    /// <param name="options">Camera settings, with <see cref="CameraOptions.Variants"/>.</param>
    public RelayVariants(IActorContext context, StreamKey key, CameraOptions options)
    {
        _context = context;
        _key = key;
        _options = options;
        _gate = VariantEncodeGate.For(context.System, options.Variants);
    }

    /// <summary>Live subscriptions to variants.</summary>
    public int Count => _subscriptions.Count;

    /// <summary>Live variants.</summary>
    public int Variants => _variants.Count;

    /// <summary>Adds a subscription with a <see cref="Subscribe.Variant"/> (idempotent per id).</summary>
    /// <param name="request">The subscription.</param>
    /// <param name="latest">The relay's recent frame for the new subscriber, or null.</param>
    public void Add(Subscribe request, VideoFrame? latest)
    {
        if (_subscriptions.ContainsKey(request.SubscriptionId)) return;
        // Keyed as asked (quality 0: the default, and frames that fit pass through unchanged; see CameraVariantActor).
        var spec = request.Variant!;
        if (!_variants.TryGetValue(spec, out var entry))
        {
            if (_variants.Count >= _options.Variants.MaxPerCamera)
            {
                entry = Nearest(spec, latest);
                VariantMetrics.SubstitutedVariant(_key.Tenant);
            }
            else
            {
                var actor = _context.ActorOf(CameraVariantActor.Props(_key, spec, _options, _gate), $"variant-{++_counter}");
                _variants[spec] = entry = new Entry(spec, actor);
            }
        }
        entry.Subscriptions++;
        _subscriptions[request.SubscriptionId] = (entry, request.Subscriber);
        _context.Watch(request.Subscriber);
        entry.Actor.Tell(new VariantSubscribe(request, latest));
    }

    /// <summary>Ends one subscription; true when it was a variant's.</summary>
    public bool Remove(string subscriptionId)
    {
        if (!_subscriptions.Remove(subscriptionId, out var s)) return false;
        // The last one goes with its variant: the variant's PostStop tells it SubscriptionCompleted (an Unsubscribe
        // would be lost with the variant's stream before that stream could answer it).
        if (s.Entry.Subscriptions > 1) s.Entry.Actor.Tell(new Unsubscribe(_key, subscriptionId));
        Release(s.Entry);
        return true;
    }

    /// <summary>Ends every variant subscription of a stopped subscriber (the variant watches it too); returns how many.</summary>
    public int RemoveSubscriber(IActorRef subscriber)
    {
        var ids = _subscriptions.Where(p => p.Value.Subscriber.Equals(subscriber)).Select(p => p.Key).ToList();
        foreach (var id in ids)
        {
            _subscriptions.Remove(id, out var s);
            Release(s.Entry);
        }
        return ids.Count;
    }

    /// <summary>Passes an accepted frame to every variant.</summary>
    public void Publish(VideoFrame frame)
    {
        foreach (var entry in _variants.Values) entry.Actor.Tell(frame);
    }

    /// <summary>A variant without subscriptions stops (after the messages already sent to it: a poison pill).</summary>
    private void Release(Entry entry)
    {
        if (--entry.Subscriptions > 0) return;
        _variants.Remove(entry.Spec);
        entry.Actor.Tell(PoisonPill.Instance);
    }

    /// <summary>The existing variant closest to <paramref name="spec"/> for the camera's current frame size.</summary>
    private Entry Nearest(VariantSpec spec, VideoFrame? latest)
    {
        var (width, height) = latest is null ? (1920, 1080) : (latest.Width, latest.Height);
        var (w, h) = spec.TargetSize(width, height);
        var wanted = (long)w * h;
        return _variants.Values
            .OrderBy(e =>
            {
                var (ew, eh) = e.Spec.TargetSize(width, height);
                return Math.Abs((long)ew * eh - wanted);
            })
            .ThenBy(e => Math.Abs(e.Spec.Quality - spec.Quality))
            .First();
    }

    private sealed class Entry(VariantSpec spec, IActorRef actor)
    {
        public VariantSpec Spec { get; } = spec;
        public IActorRef Actor { get; } = actor;
        public int Subscriptions { get; set; }
    }
}
