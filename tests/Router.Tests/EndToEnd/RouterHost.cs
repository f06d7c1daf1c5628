using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Router.Gateway.Security;
using Router.Node;
using Xunit;
using Router.Tests.Support;

namespace Router.Tests.EndToEnd;

/// <summary>
/// A real Router standalone process-in-a-test: <see cref="RouterNodeApp.Build"/> (the production code path) on
/// Kestrel at 127.0.0.1:0 with a one-member Akka.NET cluster, tenants <c>acme</c> and <c>globex</c>, and a 1 s auth window.
/// </summary>
public sealed class RouterHost : IAsyncLifetime, IRouterEndpoint
{
    public const string AcmeKey = "acme-key-0123456789";
    public const string AcmeViewOnlyKey = "acme-view-only";
    public const string AcmeIngestOnlyKey = "acme-ingest-only";
    public const string GlobexKey = "globex-key-9876543210";
    public const string DemoKey = "demo-key-for-tests";

    private readonly IReadOnlyList<string> _extraArgs;
    private WebApplication? _app;

    public RouterHost() : this([])
    {
    }

    /// <summary>
    /// A host with extra command-line settings (e.g. <c>--Router:Gateway:PingInterval=00:00:01</c>), for a test's own
    /// instance. Internal: xunit needs a collection fixture to have a single public constructor.
    /// </summary>
    internal RouterHost(IEnumerable<string> extraArgs) => _extraArgs = extraArgs.ToList();

    public Uri HttpBase { get; private set; } = null!;

    /// <summary>The application's services (e.g. the Akka.Hosting actor registry).</summary>
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("not started");

    public Uri WsBase => new(HttpBase.ToString().Replace("http://", "ws://"));

    public async Task InitializeAsync()
    {
        var args = new List<string>
        {
            "--urls=http://127.0.0.1:0",
            "--Router:Demo:PrintBanner=false",
            $"--ROUTER_DEMO_API_KEY={DemoKey}",
            "--Router:Gateway:AuthTimeout=00:00:01",
            "--Logging:LogLevel:Default=Warning",
        };
        AddKey(args, 0, AcmeKey, "acme", "ingest", "view");
        AddKey(args, 1, AcmeViewOnlyKey, "acme", "view");
        AddKey(args, 2, AcmeIngestOnlyKey, "acme", "ingest");
        AddKey(args, 3, GlobexKey, "globex", "ingest", "view");
        args.AddRange(_extraArgs);
        _app = RouterNodeApp.Build(args.ToArray());
        await _app.StartAsync();
        HttpBase = new Uri(RouterNodeApp.ListeningUrls(_app).Single(u => u.StartsWith("http://127.0.0.1")));
        // Ready when the single-member cluster is Up.
        using var http = new HttpClient { BaseAddress = HttpBase };
        var deadline = WaitDeadline.In(TimeSpan.FromSeconds(30));
        while ((await http.GetAsync("/readyz")).StatusCode != System.Net.HttpStatusCode.OK)
        {
            if (deadline.Passed) throw new TimeoutException("Router did not become ready in 30 s");
            await Task.Delay(50);
        }
    }

    private static void AddKey(List<string> args, int index, string key, string tenant, params string[] scopes)
    {
        args.Add($"--Router:ApiKeys:{index}:Sha256={ApiKeyStore.HashKey(key)}");
        args.Add($"--Router:ApiKeys:{index}:Tenant={tenant}");
        for (var i = 0; i < scopes.Length; i++) args.Add($"--Router:ApiKeys:{index}:Scopes:{i}={scopes[i]}");
    }

    public HttpClient Http(string? key = null)
    {
        var client = new HttpClient { BaseAddress = HttpBase, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public async Task DisposeAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class RouterHostCollection : ICollectionFixture<RouterHost>
{
    public const string Name = "router-host";
}
