using Akka.Hosting;
using Microsoft.Extensions.Options;
using Router.Actors.Camera;
using Router.Actors.Hosting;
using Router.Gateway;
using Router.Gateway.Security;

namespace Router.Node;

/// <summary>
/// Builds the Router.Node web application. Role <c>standalone</c> (default; configuration key <c>role</c> or
/// <c>Router:Role</c>) runs the node and gateway roles in one process with the demo camera; role <c>node</c> runs the
/// camera shard region and pull-source capture with HTTP only for <c>/healthz</c> and <c>/readyz</c>.
/// </summary>
public static class RouterNodeApp
{
    /// <summary>Default address of standalone mode when neither <c>--urls</c> nor <c>ASPNETCORE_URLS</c> is given.</summary>
    public const string DefaultUrl = "http://localhost:8080";

    /// <summary>
    /// Every <c>Router:*</c> setting this executable reads (all roles): the sections of Router.Actors and of the gateway,
    /// plus standalone mode's <c>Router:Demo</c>. A key outside it stops the start (exit code 2).
    /// </summary>
    public static RouterConfigurationSurface ConfigurationSurface { get; } = new RouterConfigurationSurface(RouterConfigurationSurface.CoreSections)
        .With(GatewayHostingExtensions.ConfigurationSections)
        .With([
            new("Router:Demo:Url", typeof(string), RouterSettingRoles.Standalone),
            new("Router:Demo:PrintBanner", typeof(bool), RouterSettingRoles.Standalone),
        ]);

    /// <summary>Builds the application from command-line <paramref name="args"/> (ASP.NET conventions).</summary>
    /// <exception cref="ArgumentException">The role is neither <c>standalone</c> nor <c>node</c>.</exception>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">A key under <c>Router</c> is unknown or does
    /// not convert, or the API keys are invalid (standalone); the other options are validated when the host starts.</exception>
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var role = builder.Configuration["role"] ?? builder.Configuration["Router:Role"] ?? "standalone";
        if (role is not ("standalone" or "node"))
            throw new ArgumentException($"unknown role '{role}' (use standalone or node; the gateway role is Router.Gateway)", nameof(args));
        var standalone = role == "standalone";
        if (standalone && builder.Configuration["urls"] is null) builder.WebHost.UseUrls(DefaultUrl);

        var demo = standalone ? StandaloneDemo.Create(builder.Configuration) : null;
        builder.Services.AddRouterOptions(builder.Configuration, ConfigurationSurface);
        if (standalone) builder.Services.AddRouterGateway(builder.Configuration);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = RouterShutdown.Budget + TimeSpan.FromSeconds(5));
        builder.Services.AddAkka(RouterConfiguration.Cluster(builder.Configuration).SystemName, (akka, services) =>
        {
            // Validated when the host starts (ValidateOnStart), before the actor system does.
            var clusterOptions = services.GetRequiredService<IOptions<RouterClusterOptions>>().Value;
            var cameraOptions = services.GetRequiredService<IOptions<CameraOptions>>().Value;
            var entries = services.GetRequiredService<IOptions<PullSourceOptions>>().Value.PullSources;
            var pullSources = demo is null ? RouterConfiguration.PullSources(entries) : RouterConfiguration.PullSources(entries, demo.Camera);
            akka.WithRouterSerialization()
                .WithRouterCluster(clusterOptions, standalone ? [RouterRoles.Node, RouterRoles.Gateway] : [RouterRoles.Node])
                .WithCameraDirectory(pullSources)
                .WithCameraShardRegion(cameraOptions, pullSources);
            if (standalone) akka.WithCameraRelays(cameraOptions);
        });

        var app = builder.Build();
        app.Services.ValidateRouterOptions();
        if (demo is null)
        {
            app.MapRouterHealth();
            return app;
        }
        app.Services.GetRequiredService<ApiKeyStore>().Add(demo.KeyEntry);
        app.MapRouterGateway();
        if (builder.Configuration.GetValue("Router:Demo:PrintBanner", true))
            app.Lifetime.ApplicationStarted.Register(() => PrintBanner(app, demo));
        return app;
    }

    /// <summary>The addresses Kestrel is listening on (with real ports once started, also for port 0).</summary>
    public static IReadOnlyList<string> ListeningUrls(WebApplication app) =>
        app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    private static void PrintBanner(WebApplication app, StandaloneDemo demo)
    {
        var url = ListeningUrls(app).FirstOrDefault() ?? DefaultUrl;
        var generated = demo.KeyGenerated ? $" (generated; set {StandaloneDemo.KeyVariable} to choose one)" : string.Empty;
        Console.WriteLine();
        Console.WriteLine("Router standalone is running.");
        Console.WriteLine($"  Viewer:      {url}/#key={demo.ApiKey}");
        Console.WriteLine($"  Demo tenant: {StandaloneDemo.Tenant}, API key: {demo.ApiKey}{generated}");
        Console.WriteLine($"  Demo camera: lobby/main playing {demo.Camera.Url}");
        // Commands that work as printed, from the repository root (where scripts/run.sh runs): the demo key, and the
        // clip the demo camera plays (the repo ships one), pushed as a camera of a new source.
        var ws = url.Replace("http", "ws");
        var clip = File.Exists(demo.Camera.Url) ? Path.GetRelativePath(Environment.CurrentDirectory, demo.Camera.Url) : "assets/media/lobby.avi";
        Console.WriteLine($"  Push frames: dotnet run --project src/Router.Cli -- push --url {ws} --key {demo.ApiKey} --source robot-01 --camera front --file {clip} --loop");
        Console.WriteLine($"  Watch them:  dotnet run --project src/Router.Cli -- watch --url {ws} --key {demo.ApiKey} --source robot-01");
        Console.WriteLine();
    }
}
