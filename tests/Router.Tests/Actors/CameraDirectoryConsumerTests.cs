using Akka.Actor;
using Akka.TestKit.Xunit2;
using Router.Actors.Camera;
using Router.Actors.Directory;
using Router.Actors.Identity;
using Router.Actors.Serialization;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Actors;

/// <summary>The directory counts consumers (consumer connections) per camera, its own and those other processes publish.</summary>
public sealed class CameraDirectoryConsumerTests() : TestKit(RouterTestConfig.SerializeEverything)
{
    private static readonly StreamKey Front = new("acme", "robot-01", "front");
    private static readonly StreamKey Rear = new("acme", "robot-01", "rear");
    private static readonly StreamKey OtherTenant = new("globex", "robot-01", "front");

    private OnlineCameras Query(IActorRef directory, string tenant = "acme")
    {
        directory.Tell(new GetOnlineCameras(tenant));
        return ExpectMsg<OnlineCameras>();
    }

    [Fact]
    public void Counts_each_watching_connection_once_per_camera_adds_other_processes_and_forgets_stopped_viewers()
    {
        var directory = Sys.ActorOf(CameraDirectoryActor.Props(PullSourceCatalog.Empty, useDistributedPubSub: false));
        var a = CreateTestProbe();
        var b = CreateTestProbe();
        directory.Tell(new WatchingCamera(Front, a.Ref));
        directory.Tell(new WatchingCamera(Front, a.Ref)); // a re-subscription is the same viewer
        directory.Tell(new WatchingCamera(Front, b.Ref));
        directory.Tell(new WatchingCamera(Rear, b.Ref));
        directory.Tell(new WatchingCamera(OtherTenant, b.Ref));
        var online = Query(directory);
        Assert.Equal((2, 1), (online.ConsumersOf(Front), online.ConsumersOf(Rear)));
        Assert.DoesNotContain(OtherTenant, online.Consumers!.Keys); // never across tenants
        Assert.Equal(1, Query(directory, "globex").ConsumersOf(OtherTenant));

        // Another gateway process has three viewers of front.
        directory.Tell(new ConsumerCounts("gateway-2", [new ConsumerCount(Front, 3), new ConsumerCount(OtherTenant, 7)]));
        Assert.Equal(5, Query(directory).ConsumersOf(Front));

        Sys.Stop(b.Ref);
        AwaitAssert(() =>
        {
            var now = Query(directory);
            Assert.Equal((4, 0), (now.ConsumersOf(Front), now.ConsumersOf(Rear)));
        }, TimeSpan.FromSeconds(10));

        // The other process's viewers all left.
        directory.Tell(new ConsumerCounts("gateway-2", []));
        Assert.Equal(1, Query(directory).ConsumersOf(Front));
    }

    [Fact]
    public void ViewerCounts_round_trips_through_the_router_serializer()
    {
        var message = new ConsumerCounts("origin-1", [new ConsumerCount(Front, 3), new ConsumerCount(new StreamKey("acme", "s", "a/b:0"), 1)]);
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<RouterSerializer>(serializer);
        var copy = Assert.IsType<ConsumerCounts>(Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier,
            Akka.Serialization.Serialization.ManifestFor(serializer, message)));
        Assert.Equal(message.Origin, copy.Origin);
        Assert.Equal(message.Counts, copy.Counts);
    }
}
