using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Router.Actors.Camera;
using Router.Actors.Hosting;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Cluster;

/// <summary>
/// Two real cluster members in one test process talking over real remoting (127.0.0.1): a <c>node</c> member hosting
/// the camera shard region and a <c>gateway</c> member with the region proxy and the camera relays. Built with the same
/// Akka.Hosting extensions as the production hosts.
/// </summary>
public sealed class TwoMemberCluster : IAsyncLifetime
{
    private IHost? _node;
    private IHost? _gateway;

    public ActorSystem NodeSystem { get; private set; } = null!;
    public ActorSystem GatewaySystem { get; private set; } = null!;
    public IActorRegistry NodeRegistry { get; private set; } = null!;
    public IActorRegistry GatewayRegistry { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var nodePort = TestPorts.Next();
        var seed = $"akka.tcp://router@127.0.0.1:{nodePort}";
        _node = Build(new RouterClusterOptions { Port = nodePort, SeedNodes = [seed] }, RouterRoles.Node);
        await _node.StartAsync();
        _gateway = Build(new RouterClusterOptions { Port = TestPorts.Next(), SeedNodes = [seed] }, RouterRoles.Gateway);
        await _gateway.StartAsync();
        NodeSystem = _node.Services.GetRequiredService<ActorSystem>();
        GatewaySystem = _gateway.Services.GetRequiredService<ActorSystem>();
        NodeRegistry = _node.Services.GetRequiredService<IActorRegistry>();
        GatewayRegistry = _gateway.Services.GetRequiredService<IActorRegistry>();
        var deadline = WaitDeadline.In(TimeSpan.FromSeconds(30));
        while (Akka.Cluster.Cluster.Get(NodeSystem).State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up) < 2)
        {
            if (deadline.Passed) throw new TimeoutException("the two members did not form a cluster in 30 s");
            await Task.Delay(50);
        }
    }

    private static IHost Build(RouterClusterOptions cluster, string role)
    {
        var camera = new CameraOptions();
        return Host.CreateDefaultBuilder()
            .ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Warning))
            .ConfigureServices(services => services.AddAkka(cluster.SystemName, akka =>
            {
                akka.WithRouterSerialization()
                    .WithRouterCluster(cluster, role)
                    .WithCameraDirectory(PullSourceCatalog.Empty);
                if (role == RouterRoles.Node) akka.WithCameraShardRegion(camera, PullSourceCatalog.Empty);
                else akka.WithCameraShardProxy().WithCameraRelays(camera);
            }))
            .Build();
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null) { await _gateway.StopAsync(); _gateway.Dispose(); }
        if (_node is not null) { await _node.StopAsync(); _node.Dispose(); }
    }
}
