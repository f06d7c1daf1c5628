using Akka.Hosting;
using Microsoft.Extensions.Options;
using Router.Actors.Hosting;
using Router.Gateway;

// Router.Gateway: the gateway role alone. HTTP/WebSocket endpoints, a proxy to the camera shard region on the
// node members, and the subscriber actors. Needs Router:Cluster:SeedNodes pointing at the cluster.
try
{
    var builder = WebApplication.CreateBuilder(args);
    var clusterOptions = RouterConfiguration.Cluster(builder.Configuration);
    clusterOptions.Validate();
    var pullSources = RouterConfiguration.PullSources(builder.Configuration);
    builder.Services.AddRouterGateway(builder.Configuration);
    builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = RouterShutdown.Budget + TimeSpan.FromSeconds(5));
    builder.Services.AddAkka(clusterOptions.SystemName, akka =>
    {
        akka.WithRouterSerialization()
            .WithRouterCluster(clusterOptions, RouterRoles.Gateway)
            .WithCameraDirectory(pullSources)
            .WithCameraShardProxy()
            .WithCameraRelays(RouterConfiguration.Camera(builder.Configuration));
    });
    var app = builder.Build();
    app.MapRouterGateway();
    app.Run(); // validates the API keys first (ValidateOnStart)
    return 0;
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine($"Router.Gateway: invalid configuration: {e.Message}");
    return 2;
}
catch (RouterConfigurationException e)
{
    Console.Error.WriteLine($"Router.Gateway: invalid configuration: {e.Message}");
    return 2;
}
