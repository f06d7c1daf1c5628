using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using Router.Tests.EndToEnd;
using Xunit;

namespace Router.Tests.Admission;

/// <summary>Failed authentications per client address, on a real Kestrel (limit 5, then 1 per 10 s).</summary>
public sealed class AuthFailureLimitTests
{
    private static readonly IPAddress Other = IPAddress.Parse("127.0.0.2");

    [Fact]
    public async Task After_the_limit_an_address_gets_429_everywhere_and_other_addresses_authenticate_normally()
    {
        await using var own = await OwnHost.StartAsync(
            "--Router:Gateway:Limits:AuthFailureBurst=5", "--Router:Gateway:Limits:AuthFailuresPerMinute=6");
        var host = own.Host;
        var device = new Uri(host.WsBase, "/ws/device");

        // 5 wrong keys are answered as usual (error, close 1008); a 6th attempt is refused before the upgrade.
        var answered = 0;
        for (var i = 0; i < 20; i++)
        {
            var (ws, status, retryAfter) = await AdmissionClients.ConnectAsync(device);
            if (ws is null)
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, status);
                Assert.True(int.Parse(retryAfter!) >= 1, $"Retry-After {retryAfter}");
                break;
            }
            using (ws)
            {
                await ws.SendJsonAsync(AdmissionClients.DeviceAuth($"wrong-key-{i}", "robot"));
                var error = await ws.ReceiveAsync();
                Assert.Contains("invalid api key", error.Text());
                Assert.Equal(1008, (await ws.ReceiveAsync()).CloseStatus);
                answered++;
            }
        }
        Assert.Equal(5, answered);

        // Blocked: the right key does not help on this address (device, consumer, REST) ...
        Assert.Equal(HttpStatusCode.TooManyRequests, (await AdmissionClients.ConnectAsync(device)).Status);
        Assert.Equal(HttpStatusCode.TooManyRequests,
            (await AdmissionClients.ConnectAsync(new Uri(host.WsBase, "/v1/sources/robot/video/stream"))).Status);
        using (var http = host.Http(RouterHost.AcmeKey))
        {
            var response = await http.GetAsync("/v1/sources");
            Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
            Assert.NotNull(response.Headers.RetryAfter);
            Assert.Contains("too many failed authentications", await response.Content.ReadAsStringAsync());
        }

        // ... while another address authenticates on every endpoint.
        using var from = AdmissionClients.From(Other);
        var (otherDevice, otherStatus, _) = await AdmissionClients.ConnectAsync(device, new HttpMessageInvoker(from, disposeHandler: false));
        Assert.Equal(HttpStatusCode.SwitchingProtocols, otherStatus);
        using (otherDevice)
        {
            await otherDevice!.SendJsonAsync(AdmissionClients.DeviceAuth(RouterHost.AcmeKey, "robot"));
            Assert.Contains("authenticated", (await otherDevice!.ReceiveAsync()).Text());
        }
        var (otherConsumer, _, _) = await AdmissionClients.ConnectAsync(new Uri(host.WsBase, "/v1/sources/robot/video/stream"),
            new HttpMessageInvoker(from, disposeHandler: false));
        using (otherConsumer)
        {
            await otherConsumer!.SendJsonAsync(new { type = "auth", api_key = RouterHost.AcmeKey });
            Assert.Contains("init", (await otherConsumer!.ReceiveAsync()).Text());
        }
        using var otherHttp = new HttpClient(from, disposeHandler: false) { BaseAddress = host.HttpBase };
        otherHttp.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", RouterHost.AcmeKey);
        Assert.Equal(HttpStatusCode.OK, (await otherHttp.GetAsync("/v1/sources")).StatusCode);
    }

    [Fact]
    public async Task A_flood_of_wrong_keys_on_open_sockets_is_cut_off_after_the_limit()
    {
        await using var own = await OwnHost.StartAsync(
            "--Router:Gateway:Limits:AuthFailureBurst=10", "--Router:Gateway:Limits:AuthFailuresPerMinute=6");
        var host = own.Host;
        // 200 consumer auths with wrong keys, 10 at a time: at most the burst plus the sockets already open when the
        // limit was reached are answered with 4001; all the others are refused with 429 before the upgrade.
        var refused = 0;
        var answered = 0;
        for (var batch = 0; batch < 20; batch++)
        {
            var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(async i =>
            {
                var (ws, status, _) = await AdmissionClients.ConnectAsync(new Uri(host.WsBase, "/v1/sources/robot/video/stream"));
                if (ws is null) return status == HttpStatusCode.TooManyRequests ? 0 : -1;
                using (ws)
                {
                    await ws.SendJsonAsync(new { type = "auth", api_key = $"wrong-{batch}-{i}" });
                    var close = await ws.ReceiveAsync();
                    return close.CloseStatus == 4001 ? 1 : -1;
                }
            }));
            Assert.DoesNotContain(-1, results);
            answered += results.Count(r => r == 1);
            refused += results.Count(r => r == 0);
        }
        Assert.InRange(answered, 10, 20);
        Assert.Equal(200, answered + refused);
    }
}
