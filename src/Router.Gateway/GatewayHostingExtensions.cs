using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Router.Actors.Camera;
using Router.Actors.Hosting;
using Router.Gateway.Admission;
using Router.Gateway.Ingest;
using Router.Gateway.Rest;
using Router.Gateway.Security;
using Router.Gateway.Streaming;

namespace Router.Gateway;

/// <summary>ASP.NET Core wiring of the gateway role: services, endpoints, the static viewer.</summary>
public static class GatewayHostingExtensions
{
    /// <summary>
    /// Registers the gateway's services and options, each validated when the host starts: <c>Router:Gateway</c>
    /// (<see cref="GatewayOptions"/>, <see cref="GatewayOptionsValidator"/>), <c>Router:ApiKeys</c>
    /// (<see cref="ApiKeyOptions"/>), <c>Router:Camera</c> (limits used for HTTP 413).
    /// The Akka system (with a camera region or proxy and a directory) is added by the host.
    /// </summary>
    public static IServiceCollection AddRouterGateway(this IServiceCollection services, IConfiguration configuration)
    {
        // Invalid settings stop the host at start-up with every problem listed (not the first request).
        services.AddOptions<GatewayOptions>().BindConfiguration("Router:Gateway").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>());
        services.AddOptions<ApiKeyOptions>().BindConfiguration("Router").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ApiKeyOptions>, ApiKeyOptionsValidator>());
        services.AddOptions<CameraOptions>().BindConfiguration("Router:Camera").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CameraOptions>, CameraOptionsValidator>());
        services.AddOptions<ViewerTokenOptions>().BindConfiguration("Router:Tokens").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ViewerTokenOptions>, ViewerTokenOptionsValidator>());
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<ViewerTokens>();
        services.AddSingleton<TokensEndpoint>();
        services.AddHostedService<ApiKeyFileReloader>();
        services.AddSingleton<FrameIngestor>();
        services.AddSingleton<RawFrameEncoder>();
        services.AddSingleton<AuthFailureLimiter>();
        services.AddSingleton<IngestAdmission>();
        services.AddSingleton<ConsumerAdmission>();
        services.TryAddSingleton<Router.Actors.Quotas.TenantQuotas>(); // Router:Quotas (AddRouterOptions binds and validates it)
        services.AddSingleton<DeviceWebSocketEndpoint>();
        services.AddSingleton<ConsumerWebSocketEndpoint>();
        services.AddSingleton<HttpIngestEndpoint>();
        services.AddSingleton<SourcesEndpoints>();
        services.AddRouterHealth();
        return services;
    }

    /// <summary>The configuration sections only the gateway role reads: <c>Router:Gateway</c>, <c>Router:ApiKeys</c>.</summary>
    public static IReadOnlyList<RouterSettingsSection> ConfigurationSections { get; } =
    [
        new("Router:Gateway", typeof(GatewayOptions), RouterSettingRoles.Gateway | RouterSettingRoles.Standalone),
        new("Router:ApiKeys", typeof(List<ApiKeyEntry>), RouterSettingRoles.Gateway | RouterSettingRoles.Standalone),
        new("Router:ApiKeysFile", typeof(string), RouterSettingRoles.Gateway | RouterSettingRoles.Standalone),
        new("Router:Tokens", typeof(ViewerTokenOptions), RouterSettingRoles.Gateway | RouterSettingRoles.Standalone),
    ];

    /// <summary>
    /// Adds a random viewer token signing key when <c>Router:Tokens:SigningKeys</c> has none (standalone mode: its one
    /// gateway is the only one that validates its tokens). Tokens signed with it do not outlive the process.
    /// </summary>
    public static WebApplication AddRouterGatewayRandomTokenKey(this WebApplication app)
    {
        app.Services.GetRequiredService<ViewerTokens>().UseRandomKeyIfNone();
        return app;
    }

    /// <summary>
    /// Adds an API key with both scopes (ingest and view) for <paramref name="tenant"/> to the gateway's key store, beside
    /// the configured <c>Router:ApiKeys</c> (standalone mode's demo key). The key itself is not kept, only its SHA-256.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tenant is not a valid identifier.</exception>
    public static WebApplication AddRouterGatewayApiKey(this WebApplication app, string tenant, string apiKey, string name)
    {
        app.Services.GetRequiredService<ApiKeyStore>().Add(new ApiKeyEntry
        {
            Tenant = tenant, Sha256 = ApiKeyStore.HashKey(apiKey), Scopes = [ApiScopes.Ingest, ApiScopes.View], Name = name,
        });
        return app;
    }

    /// <summary>
    /// Maps the gateway's endpoints: <c>/ws/device</c>, <c>/v1/sources/{source_id}/video/stream</c>,
    /// <c>POST /v1/sources/{source_id}/video/frames</c>, <c>POST /v1/tokens</c>, <c>GET /v1/sources</c>, the snapshot, the viewer at <c>/</c>,
    /// <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c> (<see cref="RouterHealthExtensions.MapRouterHealth"/>).
    /// </summary>
    public static WebApplication MapRouterGateway(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.DirectSend)
        {
            app.Use((context, next) => // before UseWebSockets, which takes the upgrade feature as the request arrives
            {
                var path = context.Request.Path;
                if (path.StartsWithSegments("/v1/sources") && path.Value!.EndsWith("/video/stream", StringComparison.Ordinal))
                    DirectSendUpgradeFeature.TryInstall(context);
                return next(context);
            });
        }
        app.UseWebSockets();
        var viewer = new EmbeddedFileProvider(typeof(GatewayHostingExtensions).Assembly, "Router.Gateway.wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = viewer });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = viewer });
        app.Map("/ws/device", (HttpContext ctx, DeviceWebSocketEndpoint endpoint) => endpoint.HandleAsync(ctx));
        app.Map("/v1/sources/{source_id}/video/stream",
            (HttpContext ctx, string source_id, ConsumerWebSocketEndpoint endpoint) => endpoint.HandleAsync(ctx, source_id));
        app.MapPost("/v1/sources/{source_id}/video/frames",
            (HttpContext ctx, string source_id, HttpIngestEndpoint endpoint) => endpoint.HandleAsync(ctx, source_id));
        app.MapPost("/v1/tokens", (HttpContext ctx, TokensEndpoint endpoint) => endpoint.MintAsync(ctx));
        app.MapGet("/v1/sources", (HttpContext ctx, SourcesEndpoints endpoints) => endpoints.ListAsync(ctx))
            .AddEndpointFilter<AskTimeoutFilter>();
        // {camera_id}/snapshot.jpg, where the camera_id may contain '/' (sent as is or as %2F): a catch-all, parsed by
        // SourcesEndpoints from the raw request target.
        app.MapGet("/v1/sources/{source_id}/cameras/{**camera_path}",
            (HttpContext ctx, string source_id, SourcesEndpoints endpoints) => endpoints.SnapshotAsync(ctx, source_id))
            .AddEndpointFilter<AskTimeoutFilter>();
        app.MapRouterHealth();
        return app;
    }
}
