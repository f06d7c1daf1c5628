using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Router.Actors.Messages;

namespace Router.Actors.Camera;

/// <summary>
/// The subscriptions of one camera inside one actor (the camera entity, or a gateway's relay): one Akka.Streams stream
/// per <see cref="Subscribe"/>, <c>Source.ActorRef</c> → <c>Conflate</c> (newest frame wins) →
/// <see cref="AcknowledgedSinkStage"/> (one frame in flight until the subscriber acks, optional max_fps). A slow
/// subscriber therefore holds at most two frames (one in flight, one waiting) and only loses its own frames.
/// Subscribers are watched by the owning actor, which passes <see cref="Terminated"/> to <see cref="RemoveSubscriber"/>.
/// </summary>
internal sealed class FrameFanOut(IActorContext context)
{
    private readonly Dictionary<string, (Subscribe Request, IActorRef Queue)> _subscriptions = new();
    private IMaterializer? _materializer;

    /// <summary>Number of live subscriptions.</summary>
    public int Count => _subscriptions.Count;

    /// <summary>The live subscriptions.</summary>
    public IEnumerable<Subscribe> Subscriptions => _subscriptions.Values.Select(s => s.Request);

    /// <summary>Starts a subscription stream (idempotent per id); <paramref name="initial"/> is sent first when given.</summary>
    /// <returns>False when the id already exists.</returns>
    public bool Add(Subscribe request, VideoFrame? initial)
    {
        if (_subscriptions.ContainsKey(request.SubscriptionId)) return false;
        _materializer ??= context.Materializer();
        var queue = Source.ActorRef<VideoFrame>(1, OverflowStrategy.DropHead)
            .Conflate((_, newer) => newer)
            .To(Sink.FromGraph(new AcknowledgedSinkStage(request)))
            .Run(_materializer);
        _subscriptions[request.SubscriptionId] = (request, queue);
        context.Watch(request.Subscriber);
        if (initial is not null) queue.Tell(initial);
        return true;
    }

    /// <summary>Ends one subscription (its subscriber gets <see cref="SubscriptionCompleted"/>).</summary>
    public bool Remove(string subscriptionId)
    {
        if (!_subscriptions.Remove(subscriptionId, out var s)) return false;
        Complete(s.Queue);
        if (!_subscriptions.Values.Any(x => x.Request.Subscriber.Equals(s.Request.Subscriber))) context.Unwatch(s.Request.Subscriber);
        return true;
    }

    /// <summary>Ends every subscription of a stopped subscriber; returns how many there were.</summary>
    public int RemoveSubscriber(IActorRef subscriber)
    {
        var ids = _subscriptions.Where(p => p.Value.Request.Subscriber.Equals(subscriber)).Select(p => p.Key).ToList();
        foreach (var id in ids)
        {
            _subscriptions.Remove(id, out var s);
            Complete(s.Queue);
        }
        return ids.Count;
    }

    /// <summary>Offers a frame to every subscription (each keeps only its newest pending frame).</summary>
    public void Publish(VideoFrame frame)
    {
        foreach (var (_, queue) in _subscriptions.Values) queue.Tell(frame);
    }

    /// <summary>
    /// Tells every subscriber its subscription ended, from the owner's <c>PostStop</c>: the streams die with the owner,
    /// so the signal is sent directly, letting subscribers re-subscribe at once (e.g. after a shard hand-off).
    /// </summary>
    public void EndAll()
    {
        foreach (var (request, queue) in _subscriptions.Values)
        {
            request.Subscriber.Tell(new SubscriptionCompleted(request.Key, request.SubscriptionId));
            Complete(queue);
        }
        _subscriptions.Clear();
    }

    private static void Complete(IActorRef queue) => queue.Tell(new Status.Success(Akka.Done.Instance));
}
