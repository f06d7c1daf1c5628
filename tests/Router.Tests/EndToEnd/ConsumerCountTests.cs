using System.Text.Json;
using Xunit;
using Router.Tests.Support;

namespace Router.Tests.EndToEnd;

/// <summary>GET /v1/sources: <c>consumers</c> counts consumer WebSockets, <c>relays</c> the gateway relays.</summary>
[Collection(RouterHostCollection.Name)]
public sealed class ConsumerCountTests(RouterHost host)
{
    private const string Source = "e2e-viewers";

    /// <summary>The camera's (consumers, relays) in GET /v1/sources, or null while it is not listed.</summary>
    private static async Task<(int Subscribers, int Relays)?> CountsAsync(HttpClient http)
    {
        var doc = JsonDocument.Parse(await http.GetStringAsync("/v1/sources")).RootElement;
        foreach (var source in doc.GetProperty("sources").EnumerateArray())
        {
            if (source.GetProperty("source_id").GetString() != Source) continue;
            var camera = source.GetProperty("cameras").EnumerateArray().Single(c => c.GetProperty("camera_id").GetString() == "cam");
            return (camera.GetProperty("consumers").GetInt32(), camera.GetProperty("relays").GetInt32());
        }
        return null;
    }

    private static async Task AwaitCountsAsync(HttpClient http, int consumers, int relays)
    {
        var deadline = WaitDeadline.In(TimeSpan.FromSeconds(15));
        (int, int)? last;
        while ((last = await CountsAsync(http)) != (consumers, relays))
        {
            Assert.False(deadline.Passed, $"expected (consumers, relays) = ({consumers}, {relays}), last {last}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Subscribers_counts_consumer_connections_while_the_gateway_relays_the_camera_once()
    {
        await using var device = await WsClient.DeviceAsync(host, RouterHost.AcmeKey, Source);
        using var stop = new CancellationTokenSource();
        var pushing = Task.Run(async () =>
        {
            using var clock = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
            var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                await device.SendBinaryAsync(WsClient.BinaryFrame(Source, "cam", Support.TestFrames.Vtest[i % 10], ts + i));
                try { await clock.WaitForNextTickAsync(stop.Token); } catch (OperationCanceledException) { }
            }
        });
        try
        {
            using var http = host.Http(RouterHost.AcmeKey);
            var (one, _) = await WsClient.ConsumerAsync(host, RouterHost.AcmeKey, Source, "?camera_id=cam");
            var (two, _) = await WsClient.ConsumerAsync(host, RouterHost.AcmeKey, Source); // every camera of the source
            await using (one)
            await using (two)
            {
                await AwaitCountsAsync(http, consumers: 2, relays: 1);
                await one.DisposeAsync();
                await AwaitCountsAsync(http, consumers: 1, relays: 1);
            }
            await AwaitCountsAsync(http, consumers: 0, relays: 0);
        }
        finally
        {
            stop.Cancel();
            await pushing;
        }
    }
}
