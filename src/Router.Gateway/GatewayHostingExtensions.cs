using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.FileProviders;
using Router.Actors.Camera;
using Router.Gateway.Ingest;
using Router.Gateway.Rest;
using Router.Gateway.Security;
using Router.Gateway.Streaming;

namespace Router.Gateway;

/// <summary>ASP.NET Core wiring of the gateway role: services, endpoints, the static viewer.</summary>
public static class GatewayHostingExtensions
{
    /// <summary>
    /// Registers the gateway's services and options: <c>Router:Gateway</c> (<see cref="GatewayOptions"/>),
    /// <c>Router:ApiKeys</c> (<see cref="ApiKeyOptions"/>), <c>Router:Camera</c> (limits used for HTTP 413).
    /// The Akka system (with a camera region or proxy and a directory) is added by the host.
    /// </summary>
    public static IServiceCollection AddRouterGateway(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<GatewayOptions>(configuration.GetSection("Router:Gateway"));
        services.Configure<ApiKeyOptions>(configuration.GetSection("Router"));
        services.Configure<CameraOptions>(configuration.GetSection("Router:Camera"));
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<FrameIngestor>();
        services.AddSingleton<DeviceWebSocketEndpoint>();
        services.AddSingleton<ConsumerWebSocketEndpoint>();
        services.AddSingleton<HttpIngestEndpoint>();
        services.AddSingleton<SourcesEndpoints>();
        return services;
    }

    /// <summary>
    /// Maps the gateway's endpoints: <c>/ws/device</c>, <c>/v1/sources/{source_id}/video/stream</c>,
    /// <c>POST /v1/sources/{source_id}/video/frames</c>, <c>GET /v1/sources</c>, the snapshot, the viewer at <c>/</c>,
    /// <c>/healthz</c> and <c>/readyz</c>.
    /// </summary>
    public static WebApplication MapRouterGateway(this WebApplication app)
    {
        app.UseWebSockets();
        var viewer = new EmbeddedFileProvider(typeof(GatewayHostingExtensions).Assembly, "Router.Gateway.wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = viewer });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = viewer });
        app.Map("/ws/device", (HttpContext ctx, DeviceWebSocketEndpoint endpoint) => endpoint.HandleAsync(ctx));
        app.Map("/v1/sources/{source_id}/video/stream",
            (HttpContext ctx, string source_id, ConsumerWebSocketEndpoint endpoint) => endpoint.HandleAsync(ctx, source_id));
        app.MapPost("/v1/sources/{source_id}/video/frames",
            (HttpContext ctx, string source_id, HttpIngestEndpoint endpoint) => endpoint.HandleAsync(ctx, source_id));
        app.MapGet("/v1/sources", (HttpContext ctx, SourcesEndpoints endpoints) => endpoints.ListAsync(ctx));
        app.MapGet("/v1/sources/{source_id}/cameras/{camera_id}/snapshot.jpg",
            (HttpContext ctx, string source_id, string camera_id, SourcesEndpoints endpoints) => endpoints.SnapshotAsync(ctx, source_id, camera_id));
        app.MapRouterHealth();
        return app;
    }

    /// <summary>
    /// <c>/healthz</c>: 200 while the process runs. <c>/readyz</c>: 200 when this member is Up in the cluster, else 503.
    /// <c>/metrics/remote</c>: frames and bytes each camera sent over remoting from this process (JSON).
    /// </summary>
    public static WebApplication MapRouterHealth(this WebApplication app)
    {
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/metrics/remote", () => Results.Json(Router.Actors.Metrics.RemoteTraffic.Snapshot()));
        app.MapGet("/readyz", (ActorSystem system) =>
        {
            var status = Cluster.Get(system).SelfMember.Status;
            return status == MemberStatus.Up
                ? Results.Text("ready")
                : Results.Text($"cluster member is {status}", statusCode: StatusCodes.Status503ServiceUnavailable);
        });
        return app;
    }
}
