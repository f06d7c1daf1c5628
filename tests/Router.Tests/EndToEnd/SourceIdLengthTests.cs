using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using Router.Actors.Identity;
using Router.Protocol;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.EndToEnd;

/// <summary>source_id is capped at 255 characters: the u8 length field of the binary frame header.</summary>
[Collection(RouterHostCollection.Name)]
public sealed class SourceIdLengthTests(RouterHost host)
{
    private static readonly string Longest = "s" + new string('0', 254);
    private static readonly string TooLong = Longest + "0";

    [Fact]
    public void Validation_accepts_255_characters_and_rejects_256_naming_the_limit()
    {
        Assert.Equal(255, Longest.Length);
        Assert.True(Identifiers.IsValidSourceId(Longest, out _));
        Assert.False(Identifiers.IsValidSourceId(TooLong, out var error));
        Assert.Contains("255", error);
        Assert.False(Identifiers.IsValidTenant(TooLong, out error));
        Assert.StartsWith("tenant", error);
    }

    [Fact]
    public async Task A_255_character_source_id_streams_binary_frames_end_to_end()
    {
        await using var device = await WsClient.DeviceAsync(host, RouterHost.AcmeKey, Longest);
        var (consumer, _) = await WsClient.ConsumerAsync(host, RouterHost.AcmeKey, Longest, "?camera_id=front&format=binary");
        await using var c = consumer;
        var receiving = consumer.ReceiveUntilAsync(m => m.Type == WebSocketMessageType.Binary, TimeSpan.FromSeconds(20));
        var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var clock = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        for (var i = 0; !receiving.IsCompleted && i < 400; i++)
        {
            // The device's own binary header carries the 255-byte source_id too.
            await device.SendBinaryAsync(WsClient.BinaryFrame(Longest, "front", TestFrames.Vtest[i % TestFrames.Vtest.Count], ts + i));
            await clock.WaitForNextTickAsync();
        }
        var frame = await receiving;
        Assert.Null(frame.CloseStatus);
        Assert.True(BinaryFrameCodec.TryDecode(frame.Data, out var header, out _, out var error), error);
        Assert.Equal((Longest, "front"), (header.SourceId, header.CameraId));
    }

    [Fact]
    public async Task A_256_character_source_id_is_refused_by_device_auth_http_ingest_and_the_consumer_stream()
    {
        await using (var device = await WsClient.ConnectAsync(new Uri(host.WsBase, "/ws/device")))
        {
            await device.SendJsonAsync(new { type = "device_auth", api_key = RouterHost.AcmeKey, source_id = TooLong });
            var reply = (await device.ReceiveAsync()).Json;
            Assert.Equal("error", reply.GetProperty("type").GetString());
            Assert.Contains("255", reply.GetProperty("message").GetString());
            Assert.Equal(1008, (await device.ReceiveCloseAsync()).CloseStatus);
        }

        using var http = host.Http(RouterHost.AcmeKey);
        using var body = new ByteArrayContent(TestFrames.Vtest[0]);
        body.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        using var ingest = await http.PostAsync($"/v1/sources/{TooLong}/video/frames", body);
        Assert.Equal(HttpStatusCode.BadRequest, ingest.StatusCode);
        Assert.Contains("255", await ingest.Content.ReadAsStringAsync());

        using var stream = await http.GetAsync($"/v1/sources/{TooLong}/video/stream");
        Assert.Equal(HttpStatusCode.BadRequest, stream.StatusCode);
    }
}
