using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Router.Gateway.Security;
using Router.Tests.Admission;
using Router.Tests.EndToEnd;
using Xunit;
using Xunit.Abstractions;
using Router.Tests.Support;

namespace Router.Tests.Security;

/// <summary>
/// Keys without restarts on a real Kestrel: a keys file (Router:ApiKeysFile) laid out like a mounted Kubernetes Secret
/// (<c>keys.json -> ..data/keys.json</c>, <c>..data -> ..v1</c>, updated by swapping the <c>..data</c> symlink).
/// </summary>
public sealed class ApiKeyFileTests(ITestOutputHelper output)
{
    private const string OldKey = "file-key-old-0123456789";
    private const string NewKey = "file-key-new-9876543210";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_key_added_to_the_file_works_and_a_removed_key_closes_its_sockets_with_a_reason()
    {
        using var secret = new SecretVolume(Keys((OldKey, "acme")));
        await using var own = await StartAsync(secret);
        var host = own.Host;
        using (var http = host.Http(OldKey)) Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/sources")).StatusCode);
        using (var http = host.Http(NewKey)) Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/v1/sources")).StatusCode);

        // Added: works without a restart.
        var added = Stopwatch.StartNew();
        await secret.UpdateUntilAsync(Keys((OldKey, "acme"), (NewKey, "acme")), async () =>
        {
            using var http = host.Http(NewKey);
            return (await http.GetAsync("/v1/sources")).StatusCode == HttpStatusCode.OK;
        });
        output.WriteLine($"new key accepted after {added.ElapsedMilliseconds} ms");

        // Open a consumer and a device with the new key.
        var consumer = (await AdmissionClients.ConnectAsync(new Uri(host.WsBase, "/v1/sources/robot-01/video/stream"))).Socket!;
        Assert.NotNull(consumer);
        await consumer!.SendJsonAsync(new { type = "auth", api_key = NewKey });
        Assert.Contains("\"init\"", (await consumer!.ReceiveAsync()).Text());
        var device = (await AdmissionClients.ConnectAsync(new Uri(host.WsBase, "/ws/device"))).Socket!;
        Assert.NotNull(device);
        await device!.SendJsonAsync(AdmissionClients.DeviceAuth(NewKey, "robot-01"));
        Assert.Contains("\"authenticated\"", (await device.ReceiveAsync()).Text());
        var oldConsumer = (await AdmissionClients.ConnectAsync(new Uri(host.WsBase, "/v1/sources/robot-01/video/stream"))).Socket!;
        await oldConsumer!.SendJsonAsync(new { type = "auth", api_key = OldKey });
        Assert.Contains("\"init\"", (await oldConsumer!.ReceiveAsync()).Text());

        // Removed: both sockets are closed with the reason; the remaining key's socket stays open.
        using var revocations = new CounterProbe("router.api_key.revoked_connections");
        var removed = Stopwatch.StartNew();
        await secret.UpdateUntilAsync(Keys((OldKey, "acme")), async () =>
        {
            using var http = host.Http(NewKey);
            return (await http.GetAsync("/v1/sources")).StatusCode == HttpStatusCode.Unauthorized;
        });
        output.WriteLine($"key refused {removed.ElapsedMilliseconds} ms after the file changed");
        var refused = Stopwatch.StartNew();
        var deviceError = await device.ReceiveAsync(Deadline);
        Assert.Equal(WebSocketMessageType.Text, deviceError.Type);
        Assert.Contains("api key revoked", deviceError.Text());
        var deviceClose = await ReceiveCloseAsync(device);
        Assert.Equal(1008, deviceClose.CloseStatus);
        Assert.Equal("api key revoked", deviceClose.CloseReason);
        var consumerClose = await ReceiveCloseAsync(consumer);
        Assert.Equal(4001, consumerClose.CloseStatus);
        Assert.Equal("api key revoked", consumerClose.CloseReason);
        output.WriteLine($"revoked sockets closed {refused.ElapsedMilliseconds} ms after the key was refused");
        Assert.True(refused.Elapsed < TimeSpan.FromSeconds(10), $"sockets closed {refused.ElapsedMilliseconds} ms after the key was refused");
        Assert.True(revocations.Total >= 2, $"revocation closes counted: {revocations.Total}");
        using (var http = host.Http(NewKey)) Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/v1/sources")).StatusCode);
        using (var http = host.Http(OldKey)) Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/sources")).StatusCode);
        Assert.Equal(WebSocketState.Open, oldConsumer.State);
        oldConsumer.Dispose();
        consumer.Dispose();
        device.Dispose();
    }

    [Fact]
    public async Task Two_gateways_reading_the_same_file_both_accept_a_new_key_without_a_restart()
    {
        using var secret = new SecretVolume(Keys((OldKey, "acme")));
        await using var first = await StartAsync(secret);
        await using var second = await StartAsync(secret);
        var watch = Stopwatch.StartNew();
        await secret.UpdateUntilAsync(Keys((OldKey, "acme"), (NewKey, "globex")), async () =>
        {
            foreach (var host in new[] { first.Host, second.Host })
            {
                using var http = host.Http(NewKey);
                if ((await http.GetAsync("/v1/sources")).StatusCode != HttpStatusCode.OK) return false;
            }
            return true;
        });
        output.WriteLine($"both gateways accepted the new key after {watch.ElapsedMilliseconds} ms");
        foreach (var host in new[] { first.Host, second.Host })
        {
            using var http = host.Http(OldKey);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/sources")).StatusCode);
        }
    }

    [Fact]
    public async Task An_invalid_file_keeps_the_previous_keys()
    {
        using var secret = new SecretVolume(Keys((OldKey, "acme")));
        await using var own = await StartAsync(secret);
        var host = own.Host;
        using var reloads = new CounterProbe("router.api_key.file_reloads", ("result", "rejected"));
        var consumer = (await AdmissionClients.ConnectAsync(new Uri(host.WsBase, "/v1/sources/robot-01/video/stream"))).Socket!;
        await consumer!.SendJsonAsync(new { type = "auth", api_key = OldKey });
        Assert.Contains("\"init\"", (await consumer!.ReceiveAsync()).Text());

        string[] invalid =
        [
            "{ \"Router\": { \"ApiKeys\": [ { \"Sha256\": ", // truncated JSON
            // a key with an unknown scope beside a valid one: the whole file is refused, the new key does not work either
            JsonSerializer.Serialize(new
            {
                Router = new
                {
                    ApiKeys = new[]
                    {
                        new { Sha256 = ApiKeyStore.HashKey(NewKey), Tenant = "acme", Scopes = new[] { "view" } },
                        new { Sha256 = ApiKeyStore.HashKey("another-key-123"), Tenant = "acme", Scopes = new[] { "admin" } },
                    },
                },
            }),
        ];
        foreach (var text in invalid)
        {
            var before = reloads.Total;
            await secret.UpdateUntilAsync(text, () => Task.FromResult(reloads.Total > before));
            using var http = host.Http(OldKey);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/sources")).StatusCode);
            using var refused = host.Http(NewKey);
            Assert.Equal(HttpStatusCode.Unauthorized, (await refused.GetAsync("/v1/sources")).StatusCode);
            Assert.Equal(WebSocketState.Open, consumer.State);
        }
        consumer.Dispose();
    }

    [Theory]
    [InlineData("{\"Router\":{\"ApiKeys\":[{\"Sha256\":\"abc\",\"Tenant\":\"acme\",\"Scopes\":[\"view\"]}]}}", "Sha256 must be the 64 hex characters")]
    [InlineData("{\"Router\":{\"Gateway\":{\"AuthTimeout\":\"00:00:05\"}}}", "unknown setting 'Router:Gateway:AuthTimeout'")]
    [InlineData("{\"Router\":{\"ApiKeys\":[", "Could not parse the JSON file")]
    public async Task An_invalid_file_at_start_stops_the_host_with_the_problem(string content, string problem)
    {
        using var secret = new SecretVolume(content);
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => OwnHost.StartAsync($"--Router:ApiKeysFile={secret.FilePath}"));
        Assert.Contains(problem, error.Message);
        Assert.Contains(secret.FilePath, error.Message);
    }

    // Polling with a key that is not valid yet counts as failed authentications: raise the per-address allowance.
    private static Task<OwnHost> StartAsync(SecretVolume secret) => OwnHost.StartAsync(
        $"--Router:ApiKeysFile={secret.FilePath}",
        "--Router:Gateway:Limits:AuthFailureBurst=10000",
        "--Router:Gateway:Limits:AuthFailuresPerMinute=10000");

    private static async Task<WsMessage> ReceiveCloseAsync(ClientWebSocket ws)
    {
        var deadline = WaitDeadline.In(Deadline);
        while (true)
        {
            var message = await ws.ReceiveAsync(deadline.Remaining);
            if (message.Type == WebSocketMessageType.Close) return message;
        }
    }

    private static string Keys(params (string Key, string Tenant)[] keys) =>
        JsonSerializer.Serialize(new
        {
            Router = new
            {
                ApiKeys = keys.Select(k => new { Sha256 = ApiKeyStore.HashKey(k.Key), k.Tenant, Scopes = new[] { "ingest", "view" } }).ToArray(),
            },
        });
}
