using System.Net;
using System.Net.Http.Headers;
using Xunit;
using Xunit.Abstractions;
using Router.Tests.EndToEnd;

namespace Router.Tests.Hostile;

/// <summary>
/// The per-node re-encode bound on a real Router configured with one slot and no queue: concurrent frames that need
/// re-encoding beyond it are refused at once with 503 and <c>Retry-After</c> instead of piling up decodes.
/// </summary>
public sealed class ReencodeBusyTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly RouterHost _host = new([
        "--Router:Camera:SizePolicy:ReencodeConcurrency=1",
        "--Router:Camera:SizePolicy:ReencodeQueueLimit=0",
    ]);

    public Task InitializeAsync() => _host.InitializeAsync();

    public Task DisposeAsync() => _host.DisposeAsync();

    [Fact]
    public async Task Frames_beyond_the_saturated_bound_get_503_with_Retry_After()
    {
        // An 8K frame padded into the re-encode range takes a while to decode and re-encode: the others arrive meanwhile.
        var frame = Bombs.PaddedRealFrame(7680, 4320, 800_000);
        using var http = _host.Http(RouterHost.AcmeKey);
        async Task<(HttpStatusCode Status, string? RetryAfter, string Body)> PostAsync(int camera)
        {
            using var content = new ByteArrayContent(frame);
            content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
            using var response = await http.PostAsync($"/v1/sources/busy/video/frames?camera_id=c{camera}", content);
            return (response.StatusCode, response.Headers.RetryAfter?.ToString(), await response.Content.ReadAsStringAsync());
        }

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(PostAsync));
        foreach (var r in results) output.WriteLine($"{(int)r.Status} retry-after={r.RetryAfter} {r.Body}");
        Assert.All(results, r => Assert.Contains(r.Status, new[] { HttpStatusCode.Accepted, HttpStatusCode.ServiceUnavailable }));
        Assert.Contains(results, r => r.Status == HttpStatusCode.Accepted);
        var busy = results.Where(r => r.Status == HttpStatusCode.ServiceUnavailable).ToList();
        Assert.NotEmpty(busy);
        Assert.All(busy, r =>
        {
            Assert.Equal("1", r.RetryAfter);
            Assert.Contains("busy", r.Body);
        });

        // Once the slot is free again, the same frame is re-encoded.
        var again = await PostAsync(99);
        Assert.Equal(HttpStatusCode.Accepted, again.Status);
    }

    [Fact]
    public async Task On_a_device_socket_a_frame_beyond_the_bound_gets_a_Busy_error_reply()
    {
        var frame = Bombs.PaddedRealFrame(7680, 4320, 800_000);
        await using var device = await WsClient.DeviceAsync(_host, RouterHost.AcmeKey, "busy-ws");
        var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        // Four at once (as many as a socket lets await a verdict); accepted frames get no reply, refused ones an error.
        for (var i = 0; i < 4; i++) await device.SendBinaryAsync(WsClient.BinaryFrame("x", $"c{i}", frame, ts));
        var reply = await device.ReceiveAsync(TimeSpan.FromSeconds(20));
        Assert.Null(reply.CloseStatus);
        Assert.StartsWith("frame rejected (Busy): re-encoding is busy", reply.Json.GetProperty("message").GetString());
    }
}
