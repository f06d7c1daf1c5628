using System.Net;
using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Akka.TestKit.Xunit2;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Router.Actors.Hosting;
using Router.Gateway.Rest;
using Router.Node;
using Router.Tests.EndToEnd;
using Xunit;

namespace Router.Tests.Gateway;

/// <summary>An ask that times out (the cluster did not answer) is a 503 with Retry-After and a JSON error, not a 500.</summary>
public sealed class AskTimeoutTests() : TestKit("akka.loglevel = WARNING")
{
    private static async Task AssertServiceUnavailableAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(AskTimeoutFilter.RetryAfterSeconds), response.Headers.RetryAfter?.Delta);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(AskTimeoutFilter.Message, body.GetProperty("error").GetString());
    }

    /// <summary>Real Kestrel, a real Akka ask to an actor that never answers, with and without the filter.</summary>
    [Fact]
    public async Task The_filter_maps_a_real_ask_timeout_to_503_and_passes_everything_else_through()
    {
        var silent = CreateTestProbe(); // never replies
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        async Task<IResult> AskSilent()
        {
            await silent.Ref.Ask<object>("anyone there?", TimeSpan.FromMilliseconds(200));
            return Results.Ok();
        }
        app.MapGet("/ask", AskSilent).AddEndpointFilter<AskTimeoutFilter>();
        app.MapGet("/ask-unfiltered", AskSilent);
        app.MapGet("/ok", () => Results.Json(new { fine = true })).AddEndpointFilter<AskTimeoutFilter>();
        app.MapGet("/other-error", IResult () => throw new InvalidOperationException("not a timeout")).AddEndpointFilter<AskTimeoutFilter>();
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(RouterNodeApp.ListeningUrls(app).Single()) };
            await AssertServiceUnavailableAsync(await http.GetAsync("/ask"));
            Assert.Equal(HttpStatusCode.InternalServerError, (await http.GetAsync("/ask-unfiltered")).StatusCode); // what it was before
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/ok")).StatusCode);
            Assert.Equal(HttpStatusCode.InternalServerError, (await http.GetAsync("/other-error")).StatusCode);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    /// <summary>
    /// The real endpoints on a real Router whose camera directory and camera region never answer (both replaced in the
    /// actor registry by an actor that drops everything) and a 300 ms query timeout.
    /// </summary>
    [Fact]
    public async Task Sources_and_snapshot_answer_503_when_the_cluster_does_not_answer()
    {
        var router = new RouterHost(["--Router:Gateway:QueryTimeout=00:00:00.300"]);
        await router.InitializeAsync();
        try
        {
            var system = router.Services.GetRequiredService<ActorSystem>();
            var blackHole = system.ActorOf(Props.Create(() => new BlackHole()), "black-hole");
            var registry = router.Services.GetRequiredService<ActorRegistry>();
            registry.Register<CameraDirectory>(blackHole, overwrite: true);
            registry.Register<CameraRegion>(blackHole, overwrite: true);

            using var http = router.Http(RouterHost.AcmeKey);
            await AssertServiceUnavailableAsync(await http.GetAsync("/v1/sources"));
            await AssertServiceUnavailableAsync(await http.GetAsync("/v1/sources/robot-01/cameras/front/snapshot.jpg"));
        }
        finally
        {
            await router.DisposeAsync();
        }
    }

    private sealed class BlackHole : ReceiveActor
    {
        public BlackHole() => ReceiveAny(_ => { });
    }
}
