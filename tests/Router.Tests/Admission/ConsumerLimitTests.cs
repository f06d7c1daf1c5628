using System.Net;
using Router.Tests.EndToEnd;
using Xunit;
using Router.Tests.Support;

namespace Router.Tests.Admission;

/// <summary>Consumer admission on a real Kestrel: camera_ids per connection, connections and subscriptions per tenant.</summary>
public sealed class ConsumerLimitTests
{
    private static string Cameras(int count, string prefix = "cam") =>
        "?" + string.Join("&", Enumerable.Range(0, count).Select(i => $"camera_id={prefix}-{i}"));

    [Fact]
    public async Task More_camera_ids_than_the_limit_get_400_before_the_upgrade()
    {
        await using var own = await OwnHost.StartAsync();
        using var http = own.Host.Http();
        var response = await http.GetAsync($"/v1/sources/robot/video/stream{Cameras(65)}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("at most 64 camera_id", await response.Content.ReadAsStringAsync());
        // 64 are fine.
        var (consumer, init) = await WsClient.ConsumerAsync(own.Host, RouterHost.AcmeKey, "robot", Cameras(64));
        await using var _ = consumer;
        Assert.Equal("init", init.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Connections_over_the_tenant_limit_close_with_1013_and_other_tenants_connect()
    {
        await using var own = await OwnHost.StartAsync("--Router:Gateway:Limits:MaxConsumerConnectionsPerTenant=2");
        var (a1, _) = await WsClient.ConsumerAsync(own.Host, RouterHost.AcmeKey, "robot");
        var (a2, _) = await WsClient.ConsumerAsync(own.Host, RouterHost.AcmeKey, "robot");
        await using (a2)
        {
            var a3 = await WsClient.ConnectAsync(new Uri(own.Host.WsBase, "/v1/sources/robot/video/stream"));
            await using (a3)
            {
                await a3.SendJsonAsync(new { type = "auth", api_key = RouterHost.AcmeKey });
                var close = await a3.ReceiveCloseAsync();
                Assert.Equal(1013, close.CloseStatus);
                Assert.Contains("too many consumer connections", close.CloseReason);
            }
            var (g1, ginit) = await WsClient.ConsumerAsync(own.Host, RouterHost.GlobexKey, "robot");
            await using var _ = g1;
            Assert.Equal("init", ginit.GetProperty("type").GetString());
            // A closed connection frees its place.
            await a1.DisposeAsync();
            var deadline = WaitDeadline.In(TimeSpan.FromSeconds(10));
            while (true)
            {
                try
                {
                    var (again, _) = await WsClient.ConsumerAsync(own.Host, RouterHost.AcmeKey, "robot");
                    await again.DisposeAsync();
                    break;
                }
                catch (InvalidOperationException) when (!deadline.Passed) { await Task.Delay(100); }
            }
        }
    }

    [Fact]
    public async Task Subscriptions_over_the_tenant_rate_close_with_1013()
    {
        await using var own = await OwnHost.StartAsync(
            "--Router:Gateway:Limits:SubscriptionsPerSecondPerTenant=1", "--Router:Gateway:Limits:SubscriptionBurstPerTenant=10");
        var (first, _) = await WsClient.ConsumerAsync(own.Host, RouterHost.AcmeKey, "robot", Cameras(8));
        await using var _ = first;
        var second = await WsClient.ConnectAsync(new Uri(own.Host.WsBase, $"/v1/sources/robot/video/stream{Cameras(8, "other")}"));
        await using (second)
        {
            await second.SendJsonAsync(new { type = "auth", api_key = RouterHost.AcmeKey });
            var close = await second.ReceiveCloseAsync();
            Assert.Equal(1013, close.CloseStatus);
            Assert.Contains("too many new subscriptions", close.CloseReason);
        }
        // Another tenant has its own budget.
        var (globex, init) = await WsClient.ConsumerAsync(own.Host, RouterHost.GlobexKey, "robot", Cameras(8));
        await using var g = globex;
        Assert.Equal("init", init.GetProperty("type").GetString());
    }
}
