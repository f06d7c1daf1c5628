using Akka.Hosting;
using Microsoft.Extensions.Options;
using Router.Actors.Camera;
using Router.Actors.Hosting;
using Router.Gateway;

namespace Router.Node;

/// <summary>
/// Builds the Router.Node web application, the one Router executable. Role <c>standalone</c> (default; configuration
/// key <c>role</c> or <c>Router:Role</c>) runs the node and gateway roles in one process with the demo camera; role
/// <c>node</c> runs the camera shard region and pull-source capture with HTTP only for <c>/healthz</c>,
/// <c>/readyz</c> and <c>/metrics</c>; role <c>gateway</c> runs the HTTP/WebSocket endpoints (Router.Gateway) with a proxy to the camera
/// shard region on the node members and the camera relays (needs <c>Router:Cluster:SeedNodes</c>).
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

    /// <summary>The runtime's switch for running socket completions on its event thread (read once, at the first socket).</summary>
    public const string InlineSocketCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Sets <see cref="InlineSocketCompletionsVariable"/> to <c>1</c> for this process unless the environment already
    /// sets it (<c>0</c> turns it off). The .NET runtime then continues a socket operation that completes later (a
    /// read of the device's socket, a consumer send that had to wait) on its epoll thread instead of handing it to the
    /// thread pool. Kestrel's socket awaitables still resume on Kestrel's own I/O queues (its
    /// <c>UnsafePreferInlineScheduling</c> stays off), so for Kestrel connections what runs there is the read or write
    /// system call and the hand-off to that queue; the only application code is the tail of a direct send
    /// (<c>DirectSendStream</c>, <c>ConsumerConnection</c>): no blocking work. Measured with bench/Router.Bench
    /// (docs/benchmarks.md, "Socket completions on the runtime's event thread"). Only takes effect when called before
    /// the process's first socket operation, so <c>Program</c> calls it first.
    /// </summary>
    public static void PreferInlineSocketCompletions()
    {
        if (Environment.GetEnvironmentVariable(InlineSocketCompletionsVariable) is null)
            Environment.SetEnvironmentVariable(InlineSocketCompletionsVariable, "1");
    }

    /// <summary>Builds the application from command-line <paramref name="args"/> (ASP.NET conventions).</summary>
    /// <exception cref="ArgumentException">The role is not <c>standalone</c>, <c>node</c> or <c>gateway</c>.</exception>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">A key under <c>Router</c> is unknown or does
    /// not convert, or an option is invalid (listed by <see cref="RouterOptionsServiceCollectionExtensions.ConfigurationProblems"/>).</exception>
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var role = builder.Configuration["role"] ?? builder.Configuration["Router:Role"] ?? "standalone";
        if (role is not ("standalone" or "node" or "gateway"))
            throw new ArgumentException($"unknown role '{role}' (use standalone, node or gateway)", nameof(args));
        var standalone = role == "standalone";
        var hasNode = role != "gateway";
        var hasGateway = role != "node";
        if (standalone && builder.Configuration["urls"] is null) builder.WebHost.UseUrls(DefaultUrl);

        var demo = standalone ? StandaloneDemo.Create(builder.Configuration) : null;
        builder.Services.AddRouterOptions(builder.Configuration, ConfigurationSurface);
        if (hasGateway) builder.Services.AddRouterGateway(builder.Configuration);
        else builder.Services.AddRouterHealth();
        builder.Services.AddHostedService<IdleMemoryTrimmer>(); // returns a burst's heap to the OS once the process is quiet
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = RouterShutdown.Budget + TimeSpan.FromSeconds(5));
        builder.Services.AddAkka(RouterConfiguration.Cluster(builder.Configuration).SystemName, (akka, services) =>
        {
            // Validated when the host starts (ValidateOnStart), before the actor system does.
            var clusterOptions = services.GetRequiredService<IOptions<RouterClusterOptions>>().Value;
            var cameraOptions = services.GetRequiredService<IOptions<CameraOptions>>().Value;
            var entries = services.GetRequiredService<IOptions<PullSourceOptions>>().Value.PullSources;
            var pullSources = demo is null ? RouterConfiguration.PullSources(entries) : RouterConfiguration.PullSources(entries, demo.Camera);
            var quotas = services.GetRequiredService<Router.Actors.Quotas.TenantQuotas>();
            akka.WithRouterSerialization()
                .WithRouterCluster(clusterOptions, role switch
                {
                    "node" => [RouterRoles.Node],
                    "gateway" => [RouterRoles.Gateway],
                    _ => [RouterRoles.Node, RouterRoles.Gateway],
                })
                .WithCameraDirectory(pullSources)
                .WithTenantQuotas(quotas);
            if (hasNode) akka.WithCameraShardRegion(cameraOptions, pullSources, quotas);
            else akka.WithCameraShardProxy();
            if (hasGateway) akka.WithCameraRelays(cameraOptions);
        });

        var app = builder.Build();
        app.Services.ValidateRouterOptions();
        if (!hasGateway)
        {
            app.MapRouterHealth();
            return app;
        }
        if (demo is not null) app.AddRouterGatewayApiKey(StandaloneDemo.Tenant, demo.ApiKey, "demo").AddRouterGatewayRandomTokenKey();
        app.MapRouterGateway(); // the API keys are validated when the host starts (ValidateOnStart)
        if (demo is not null && builder.Configuration.GetValue("Router:Demo:PrintBanner", true))
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
        // (`dotnet run` starts the process in src/Router.Node, so the path is made relative to the repository root.)
        var clip = File.Exists(demo.Camera.Url) ? RepositoryRelative(demo.Camera.Url) : "assets/media/lobby.avi";
        Console.WriteLine($"  Push frames: dotnet run --project src/Router.Cli -- push --url {ws} --key {demo.ApiKey} --source robot-01 --camera front --file {clip} --loop");
        Console.WriteLine($"  Watch them:  dotnet run --project src/Router.Cli -- watch --url {ws} --key {demo.ApiKey} --source robot-01");
        Console.WriteLine();
    }

    /// <summary><paramref name="path"/> relative to the directory holding Router.sln above it, else absolute.</summary>
    private static string RepositoryRelative(string path)
    {
        var full = Path.GetFullPath(path);
        for (var dir = Path.GetDirectoryName(full); dir is not null; dir = Path.GetDirectoryName(dir))
            if (File.Exists(Path.Combine(dir, "Router.sln"))) return Path.GetRelativePath(dir, full);
        return full;
    }
}
