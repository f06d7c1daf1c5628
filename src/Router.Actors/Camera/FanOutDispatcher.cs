using Akka.Actor;
using Akka.Hosting;
using Akka.Streams;

namespace Router.Actors.Camera;

/// <summary>
/// An optional dispatcher for the frame fan-out: with <see cref="CameraOptions.FanOutThreads"/> above 0, the cameras'
/// and relays' fan-out streams and the consumer actors run on that many dedicated threads, so a frame's
/// way from the stage to every consumer socket and the acknowledgements back stay on one thread instead of waking
/// thread-pool workers for each consumer (see the option for the measured trade-off). Where it is not configured
/// (the default, and plain ActorSystems in unit tests), the default dispatcher is used.
/// </summary>
public static class FanOutDispatcher
{
    /// <summary>The dispatcher's configuration path.</summary>
    public const string Id = "router.fanout-dispatcher";

    /// <summary>Adds the dispatcher's HOCON with <paramref name="threads"/> dedicated threads; 0 or less adds nothing.</summary>
    public static AkkaConfigurationBuilder WithFanOutDispatcher(this AkkaConfigurationBuilder builder, int threads) =>
        threads <= 0 ? builder : builder.AddHocon($$"""
            router.fanout-dispatcher {
              type = ForkJoinDispatcher
              throughput = 100
              dedicated-thread-pool { thread-count = {{threads}} }
            }
            """, HoconAddMode.Prepend);

    /// <summary>The dispatcher id to use in <paramref name="system"/>: <see cref="Id"/> when configured, else the default.</summary>
    public static string For(ActorSystem system) =>
        system.Dispatchers.HasDispatcher(Id) ? Id : Akka.Dispatch.Dispatchers.DefaultDispatcherId;

    /// <summary>Materializer settings that run fan-out streams on the dispatcher (null, the defaults, when not configured).</summary>
    public static ActorMaterializerSettings? MaterializerSettings(ActorSystem system) =>
        system.Dispatchers.HasDispatcher(Id) ? ActorMaterializerSettings.Create(system).WithDispatcher(Id) : null;
}
