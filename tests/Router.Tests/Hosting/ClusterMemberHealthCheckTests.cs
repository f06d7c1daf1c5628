using Akka.Actor;
using Akka.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Router.Gateway;
using Xunit;

namespace Router.Tests.Hosting;

/// <summary>Readiness is the cluster membership check: a real cluster ActorSystem that has not joined is not ready.</summary>
public sealed class ClusterMemberHealthCheckTests
{
    [Fact]
    public async Task A_member_that_has_not_joined_is_unhealthy_and_says_its_status()
    {
        var config = ConfigurationFactory.ParseString("""
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp.hostname = 127.0.0.1
            akka.remote.dot-netty.tcp.port = 0
            akka.loglevel = WARNING
            """);
        using var system = ActorSystem.Create("health-check-test", config);
        try
        {
            var result = await new ClusterMemberHealthCheck(system).CheckHealthAsync(new HealthCheckContext());
            Assert.Equal(HealthStatus.Unhealthy, result.Status);
            Assert.StartsWith("cluster member is ", result.Description);
            Assert.DoesNotContain("Up", result.Description);
        }
        finally
        {
            await system.Terminate();
        }
    }
}
