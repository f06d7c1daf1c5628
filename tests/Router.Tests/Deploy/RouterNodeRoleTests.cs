using System.Net;
using Router.Node;
using Xunit;

namespace Router.Tests.Deploy;

/// <summary>
/// Router.Node is the one executable; <c>--role</c> (or <c>Router:Role</c>) picks what it serves. Each role started
/// in-process on a free port as a one-member cluster (no seeds).
/// </summary>
public sealed class RouterNodeRoleTests
{
    [Theory]
    [InlineData("gateway", HttpStatusCode.OK, HttpStatusCode.Unauthorized)] // the viewer; the REST API wants a key
    [InlineData("node", HttpStatusCode.NotFound, HttpStatusCode.NotFound)]  // only /healthz, /readyz, /metrics
    public async Task Each_role_serves_its_own_endpoints(string role, HttpStatusCode viewer, HttpStatusCode sources)
    {
        await using var app = RouterNodeApp.Build(
        [
            $"--role={role}", "--urls=http://127.0.0.1:0", "--Router:Cluster:Port=0", "--Logging:LogLevel:Default=Warning",
        ]);
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(RouterNodeApp.ListeningUrls(app).Single()), Timeout = TimeSpan.FromSeconds(10) };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
            Assert.Equal(viewer, (await http.GetAsync("/")).StatusCode);
            Assert.Equal(sources, (await http.GetAsync("/v1/sources")).StatusCode);
            // Every role serves /metrics (Prometheus text) with the cluster members by status.
            using var metrics = await http.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
            Assert.Contains("router_cluster_members{status=\"up\"}", await metrics.Content.ReadAsStringAsync());
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public void An_unknown_role_is_refused_with_the_roles_there_are()
    {
        var e = Assert.Throws<ArgumentException>(() => RouterNodeApp.Build(["--role=gatway", "--urls=http://127.0.0.1:0"]));
        Assert.Contains("unknown role 'gatway' (use standalone, node or gateway)", e.Message);
    }
}
