using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Router.Gateway;
using Router.Node;
using Router.Tests.EndToEnd;
using Xunit;

namespace Router.Tests.Gateway;

/// <summary><c>/metrics/remote</c> lists every tenant's cameras without a key, so it answers loopback clients only.</summary>
[Collection(RouterHostCollection.Name)]
public sealed class RemoteMetricsAccessTests(RouterHost host)
{
    [Fact]
    public async Task A_loopback_client_gets_the_json_counters()
    {
        using var http = host.Http();
        using var response = await http.GetAsync("/metrics/remote");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(JsonValueKind.Array, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.ValueKind);
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.10.0.3", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("10.0.0.5", false)]
    [InlineData("192.0.2.10", false)]
    [InlineData("::ffff:10.0.0.5", false)]
    [InlineData("fd00::2", false)]
    public void Only_loopback_addresses_are_allowed(string address, bool allowed) =>
        Assert.Equal(allowed, GatewayHostingExtensions.IsLoopback(IPAddress.Parse(address)));

    [Fact]
    public void No_remote_address_is_not_loopback() => Assert.False(GatewayHostingExtensions.IsLoopback(null));

    /// <summary>
    /// Real Kestrel listening on this machine's first non-loopback IPv4 address (a pod IP, say): a request to that
    /// address comes from it, not from loopback, and is refused. The endpoint is the one MapRouterHealth maps.
    /// </summary>
    [Fact]
    public async Task A_client_on_a_non_loopback_address_gets_403()
    {
        var address = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        Assert.True(address is not null, "this test needs a non-loopback IPv4 address on the machine");

        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://{address}:0");
        await using var app = builder.Build();
        app.MapRemoteTrafficMetrics();
        await app.StartAsync();
        try
        {
            var url = RouterNodeApp.ListeningUrls(app).Single();
            using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };
            using var response = await http.GetAsync("/metrics/remote");
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("loopback", await response.Content.ReadAsStringAsync());
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
