using Akka.Hosting;
using Router.Actors.Hosting;
using Router.Gateway;
using Router.Gateway.Security;
using Router.Node;

// Router.Node: `--role standalone` (default: node and gateway roles in one process, with the demo camera) or
// `--role node` (camera shard region and pull-source capture; HTTP only for /healthz and /readyz).
var builder = WebApplication.CreateBuilder(args);
var role = builder.Configuration["role"] ?? builder.Configuration["Router:Role"] ?? "standalone";
if (role is not ("standalone" or "node"))
{
    Console.Error.WriteLine($"Router.Node: unknown role '{role}' (use standalone or node; the gateway role is Router.Gateway)");
    return 2;
}
var standalone = role == "standalone";
if (standalone && builder.Configuration["urls"] is null && builder.Configuration["ASPNETCORE_URLS"] is null)
    builder.WebHost.UseUrls("http://localhost:8080");

var demo = standalone ? StandaloneDemo.Create(builder.Configuration) : null;
var clusterOptions = RouterConfiguration.Cluster(builder.Configuration);
var cameraOptions = RouterConfiguration.Camera(builder.Configuration);
var pullSources = demo is null
    ? RouterConfiguration.PullSources(builder.Configuration)
    : RouterConfiguration.PullSources(builder.Configuration, demo.Camera);

if (standalone) builder.Services.AddRouterGateway(builder.Configuration);
builder.Services.AddAkka(clusterOptions.SystemName, akka =>
{
    akka.WithRouterSerialization()
        .WithRouterCluster(clusterOptions, standalone ? [RouterRoles.Node, RouterRoles.Gateway] : [RouterRoles.Node])
        .WithCameraDirectory(pullSources)
        .WithCameraShardRegion(cameraOptions, pullSources);
});

var app = builder.Build();
if (standalone)
{
    app.Services.GetRequiredService<ApiKeyStore>().Add(demo!.KeyEntry);
    app.MapRouterGateway();
    app.Lifetime.ApplicationStarted.Register(() =>
    {
        var url = app.Urls.FirstOrDefault() ?? "http://localhost:8080";
        Console.WriteLine();
        Console.WriteLine("Router standalone is running.");
        Console.WriteLine($"  Viewer:      {url}/#key={demo.ApiKey}");
        Console.WriteLine($"  Demo tenant: {StandaloneDemo.Tenant}, API key: {demo.ApiKey}{(demo.KeyGenerated ? $" (generated; set {StandaloneDemo.KeyVariable} to choose one)" : "")}");
        Console.WriteLine($"  Demo camera: lobby/main playing {demo.Camera.Url}");
        Console.WriteLine($"  Push frames: router push --url {url.Replace("http", "ws")} --key <key> --source robot-01 --file clip.avi");
        Console.WriteLine();
    });
}
else
{
    app.MapRouterHealth();
}
app.Run();
return 0;
