using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Router.Actors.Messages;

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
/// </summary>
internal sealed class FrameFanOut(IActorContext context)
{
    private readonly Dictionary<string, Subscribe> _subscriptions = new();
    private FanOutSinkStage? _stage;
    private IActorRef? _source;

    /// <summary>Number of live subscriptions.</summary>
    public int Count => _subscriptions.Count;

    /// <summary>The live subscriptions.</summary>
    public IEnumerable<Subscribe> Subscriptions => _subscriptions.Values;

    /// <summary>Starts a subscription (idempotent per id); <paramref name="initial"/> is sent first when given.</summary>
    /// <returns>False when the id already exists.</returns>
    public bool Add(Subscribe request, VideoFrame? initial)
    {
        if (!_subscriptions.TryAdd(request.SubscriptionId, request)) return false;
        Command(new FanOutSinkStage.Add(request, initial));
        context.Watch(request.Subscriber);
        return true;
    }

    /// <summary>Ends one subscription (its subscriber gets <see cref="SubscriptionCompleted"/>).</summary>
    public bool Remove(string subscriptionId)
    {
        if (!_subscriptions.Remove(subscriptionId, out var s)) return false;
        Command(new FanOutSinkStage.Remove(subscriptionId, Silent: false));
        if (!_subscriptions.Values.Any(x => x.Subscriber.Equals(s.Subscriber))) context.Unwatch(s.Subscriber);
        return true;
    }

    /// <summary>Ends every subscription of a stopped subscriber; returns how many there were.</summary>
    public int RemoveSubscriber(IActorRef subscriber)
    {
        var ids = _subscriptions.Where(p => p.Value.Subscriber.Equals(subscriber)).Select(p => p.Key).ToList();
        foreach (var id in ids)
        {
            _subscriptions.Remove(id);
            Command(new FanOutSinkStage.Remove(id, Silent: true));
        }
        return ids.Count;
    }

    /// <summary>Offers a frame to every subscription (each keeps only its newest pending frame).</summary>
    public void Publish(VideoFrame frame)
    {
        if (_source is not null && _subscriptions.Count > 0) _source.Tell(frame);
    }

    /// <summary>
    /// Tells every subscriber its subscription ended, from the owner's <c>PostStop</c>: the stream dies with the owner,
    /// so the signal is sent directly, letting subscribers re-subscribe at once (e.g. after a shard hand-off).
    /// </summary>
    public void EndAll()
    {
        foreach (var request in _subscriptions.Values)
            request.Subscriber.Tell(new SubscriptionCompleted(request.Key, request.SubscriptionId));
        _subscriptions.Clear();
        _source?.Tell(new Status.Success(Akka.Done.Instance));
        _source = null;
    }

    private void Command(object command)
    {
        if (_source is null)
        {
            _stage = new FanOutSinkStage();
            _source = Source.ActorRef<object>(1, OverflowStrategy.DropHead)
                // Never merges a frame away in favour of a wake-up: the newest frame wins, a wake-up rides along.
                .Conflate((older, newer) => newer is VideoFrame || older is not VideoFrame ? newer : older)
                .To(Sink.FromGraph(_stage))
                .Run(context.Materializer(FanOutDispatcher.MaterializerSettings(context.System)));
        }
        _stage!.Commands.Enqueue(command);
        _source.Tell(FanOutSinkStage.Wake.Instance);
    }
}
