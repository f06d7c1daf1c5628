using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using Router.Protocol;
using Router.Tests.EndToEnd;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Hostile;

/// <summary>
/// Malformed input on a real Router gets the documented answer (error reply, 1008, 4001, HTTP 400), never close 1011
/// or HTTP 500: lone-surrogate escapes, invalid UTF-8, wrong types, out-of-range numbers, base64 garbage, and query
/// numbers that are NaN, infinite, too small or not in invariant format.
/// </summary>
[Collection(RouterHostCollection.Name)]
public sealed class MalformedInputTests(RouterHost host)
{
    [Theory]
    [InlineData("""{"type":"device_auth","api_key":"\ud800","source_id":"robot-01"}""", "invalid api key")]
    [InlineData("""{"type":"\ud800","api_key":"acme-key-0123456789","source_id":"robot-01"}""", "first message must be")]
    [InlineData("""{"type":"device_auth","api_key":"acme-key-0123456789","source_id":"\udc00"}""", "source_id")]
    [InlineData("""{"type":"device_auth","api_key":{"k":1},"source_id":"robot-01"}""", "invalid api key")]
    [InlineData("""[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]""", "first message must be")]
    public async Task Malformed_device_auth_gets_an_error_reply_and_1008(string json, string expected)
    {
        await using var device = await WsClient.ConnectAsync(new Uri(host.WsBase, "/ws/device"));
        await device.SendTextAsync(json);
        var reply = await device.ReceiveAsync();
        Assert.Null(reply.CloseStatus);
        Assert.Equal("error", reply.Json.GetProperty("type").GetString());
        Assert.Contains(expected, reply.Json.GetProperty("message").GetString());
        var close = await device.ReceiveCloseAsync();
        Assert.Equal(1008, close.CloseStatus);
    }

    [Theory]
    [InlineData("""{"type":"video_frame","camera_id":"\ud800","frame":"/9j/2wBDAP/Z"}""", "camera_id")]
    [InlineData("""{"type":"video_frame","camera_id":["front"],"frame":"/9j/2wBDAP/Z"}""", "camera_id")]
    [InlineData("""{"type":"video_frame","frame":"/9j/2wBDAP/Z","timestamp":1e400}""", "timestamp")]
    [InlineData("""{"type":"video_frame","frame":"/9j/2wBDAP/Z","timestamp":-9.3e18}""", "frame rejected (NotJpeg)")]
    [InlineData("""{"type":"video_frame","frame":"@@@@ not base64"}""", "base64")]
    [InlineData("""{"type":"video_frame","frame":"\ud800"}""", "base64")]
    [InlineData("""{"type":"video_frame","frame":""", "not valid JSON")]
    public async Task Malformed_device_frames_get_an_error_reply_and_the_socket_stays_open(string json, string expected)
    {
        await using var device = await WsClient.DeviceAsync(host, RouterHost.AcmeKey, "malformed-frames");
        await device.SendTextAsync(json);
        var reply = await device.ReceiveAsync();
        Assert.Null(reply.CloseStatus);
        Assert.Contains(expected, reply.Json.GetProperty("message").GetString());

        // Still open and served: a real frame to a consumer.
        var (consumer, _) = await WsClient.ConsumerAsync(host, RouterHost.AcmeKey, "malformed-frames", "?camera_id=after&format=binary");
        await using var c = consumer;
        var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var received = Task.Run(() => consumer.ReceiveUntilAsync(m => m.Type == WebSocketMessageType.Binary));
        while (!received.IsCompleted)
        {
            await device.SendBinaryAsync(WsClient.BinaryFrame("x", "after", TestFrames.Vtest[0], ts++));
            await Task.WhenAny(received, Task.Delay(200));
        }
        Assert.True(BinaryFrameCodec.TryDecode((await received).Data, out var header, out _, out _));
        Assert.Equal("after", header.CameraId);
    }

    [Fact]
    public async Task Invalid_UTF8_in_a_device_text_message_is_not_an_internal_error()
    {
        await using var device = await WsClient.ConnectAsync(new Uri(host.WsBase, "/ws/device"));
        await device.SendRawTextAsync([.. "{\"type\":\"device_auth\",\"api_key\":\""u8, 0xC3, 0x28, 0xFF, .. "\"}"u8]);
        // The server's WebSocket layer refuses a text message that is not UTF-8 with close 1007 (RFC 6455) and drops the
        // connection; the client sees the 1007 or, when the drop overtakes the close frame, a reset. Never 1011.
        try
        {
            var reply = await device.ReceiveUntilAsync(_ => false, TimeSpan.FromSeconds(10));
            Assert.Equal((int)WebSocketCloseStatus.InvalidPayloadData, reply.CloseStatus);
        }
        catch (WebSocketException)
        {
        }
        // And the endpoint still serves the next device.
        await using var next = await WsClient.DeviceAsync(host, RouterHost.AcmeKey, "after-bad-utf8");
        Assert.Equal(WebSocketState.Open, next.State);
    }

    [Theory]
    [InlineData("""{"type":"auth","api_key":"\ud800"}""")]
    [InlineData("""{"type":"\ud800","api_key":"acme-key-0123456789"}""")]
    [InlineData("""{"type":"auth","api_key":12345678901234567890123456789012345678901234567890}""")]
    [InlineData("""{"type":"auth","api_key":"acme-key-0123456789""")]
    public async Task Malformed_consumer_auth_closes_4001(string json)
    {
        await using var consumer = await WsClient.ConnectAsync(new Uri(host.WsBase, "/v1/sources/robot-01/video/stream"));
        await consumer.SendTextAsync(json);
        var close = await consumer.ReceiveCloseAsync();
        Assert.Equal(PlexusJson.CloseUnauthorized, close.CloseStatus);
    }

    [Theory]
    [InlineData("timeout=NaN")]
    [InlineData("timeout=Infinity")]
    [InlineData("timeout=1e400")]
    [InlineData("timeout=60,5")]
    [InlineData("max_fps=NaN")]
    [InlineData("max_fps=-Infinity")]
    [InlineData("max_fps=1,5")]
    [InlineData("max_fps=1e-17")]
    [InlineData("max_fps=0.001")]
    [InlineData("max_fps=5&max_fps=6")]
    public async Task Bad_consumer_numbers_get_400_before_the_upgrade(string query)
    {
        using var http = host.Http();
        using var response = await http.GetAsync($"/v1/sources/robot-01/video/stream?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("error", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("timestamp=NaN")]
    [InlineData("timestamp=1e3")]
    [InlineData("timestamp=1.5")]
    [InlineData("timestamp=1,000")]
    [InlineData("timestamp=99999999999999999999")]
    [InlineData("timestamp=1&timestamp=2")]
    public async Task Bad_ingest_timestamps_get_400(string query)
    {
        using var http = host.Http(RouterHost.AcmeKey);
        using var content = new ByteArrayContent(TestFrames.Vtest[0]);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        using var response = await http.PostAsync($"/v1/sources/robot-01/video/frames?camera_id=ts&{query}", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("timestamp", await response.Content.ReadAsStringAsync());
    }
}
