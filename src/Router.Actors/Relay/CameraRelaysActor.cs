using System.Net;
using Akka.Actor;
using Router.Actors.Identity;
using Router.Actors.Messages;

namespace Router.Actors.Relay;

/// <summary>
/// One per gateway process: routes local <see cref="Subscribe"/>/<see cref="Unsubscribe"/> to the
/// <see cref="CameraRelayActor"/> of the camera, creating it on the first subscription (it stops itself after the last).
/// </summary>
public sealed class CameraRelaysActor : ReceiveActor
{
    private readonly IActorRef _region;
    private readonly TimeSpan _latestMaxAge;

    /// <param name="region">The camera shard region or proxy.</param>
    /// <param name="latestMaxAge">See <see cref="CameraRelayActor"/>.</param>
    public CameraRelaysActor(IActorRef region, TimeSpan latestMaxAge)
    {
        _region = region;
        _latestMaxAge = latestMaxAge;
        Receive<Subscribe>(m => RelayOf(m.Key, create: true)!.Forward(m));
        Receive<Unsubscribe>(m => RelayOf(m.Key, create: false)?.Forward(m));
    }

    /// <summary>Props of the registry.</summary>
    public static Props Props(IActorRef region, TimeSpan latestMaxAge) =>
        Akka.Actor.Props.Create(() => new CameraRelaysActor(region, latestMaxAge));

    private IActorRef? RelayOf(StreamKey key, bool create)
    {
        var name = WebUtility.UrlEncode(key.EntityId);
        var child = Context.Child(name);
        if (!child.IsNobody()) return child;
        return create ? Context.ActorOf(CameraRelayActor.Props(key, _region, _latestMaxAge), name) : null;
    }
}
