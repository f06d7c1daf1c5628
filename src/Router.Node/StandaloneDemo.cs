using System.Security.Cryptography;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Media;

namespace Router.Node;

/// <summary>
/// Standalone mode's demo: tenant <c>demo</c>, its API key (environment <c>ROUTER_DEMO_API_KEY</c>, or generated and
/// printed once at start-up), and the pull camera <c>lobby/main</c> playing real street footage.
/// </summary>
internal sealed class StandaloneDemo
{
    public const string Tenant = "demo";
    public const string KeyVariable = "ROUTER_DEMO_API_KEY";

    private StandaloneDemo(string apiKey, bool generated, PullSourceDefinition camera)
    {
        ApiKey = apiKey;
        KeyGenerated = generated;
        Camera = camera;
    }

    /// <summary>The demo tenant's key (never logged; printed once to the console for the user).</summary>
    public string ApiKey { get; }

    public bool KeyGenerated { get; }

    public PullSourceDefinition Camera { get; }

    public static StandaloneDemo Create(IConfiguration configuration)
    {
        // Environment variables are part of ASP.NET configuration, so --ROUTER_DEMO_API_KEY=… works too.
        var key = configuration[KeyVariable];
        var generated = string.IsNullOrWhiteSpace(key);
        if (generated) key = "demo_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var url = DemoMedia.ResolveDemoUrl(configuration["Router:Demo:Url"]);
        return new StandaloneDemo(key!, generated, new PullSourceDefinition(new StreamKey(Tenant, "lobby", "main"), url));
    }
}
