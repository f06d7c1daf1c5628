using Akka.Hosting;
using Microsoft.Extensions.Options;
using Router.Actors.Hosting;
using Router.Gateway;

// Router.Gateway: the gateway role alone. HTTP/WebSocket endpoints, a proxy to the camera shard region on the
// node members, and the consumer actors. Needs Router:Cluster:SeedNodes pointing at the cluster.
try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.Services.AddRouterOptions(builder.Configuration,
        new RouterConfigurationSurface(RouterConfigurationSurface.CoreSections).With(GatewayHostingExtensions.ConfigurationSections));
    builder.Services.AddRouterGateway(builder.Configuration);
    builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = RouterShutdown.Budget + TimeSpan.FromSeconds(5));
    builder.Services.AddAkka(RouterConfiguration.Cluster(builder.Configuration).SystemName, (akka, services) =>
    {
        akka.WithRouterSerialization()
            .WithRouterCluster(services.GetRequiredService<IOptions<RouterClusterOptions>>().Value, RouterRoles.Gateway)
            .WithCameraDirectory(RouterConfiguration.PullSources(services.GetRequiredService<IOptions<PullSourceOptions>>().Value.PullSources))
            .WithCameraShardProxy()
            .WithCameraRelays(services.GetRequiredService<IOptions<Router.Actors.Camera.CameraOptions>>().Value);
    });
    var app = builder.Build();
    app.Services.ValidateRouterOptions();
    app.MapRouterGateway();
    app.Run(); // validates the API keys first (ValidateOnStart)
    return 0;
}
catch (Exception e) when (RouterOptionsServiceCollectionExtensions.ConfigurationProblems(e) is { } problems)
{
    foreach (var problem in problems) Console.Error.WriteLine($"Router.Gateway: invalid configuration: {problem}");
    return 2;
}
