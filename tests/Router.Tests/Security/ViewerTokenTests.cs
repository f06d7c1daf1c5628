using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text.Json;
using Router.Tests.Admission;
using Router.Tests.EndToEnd;
using Xunit;
using Xunit.Abstractions;
using static Router.Tests.Security.ViewerTokenClients;
using Router.Tests.Support;

namespace Router.Tests.Security;

/// <summary>
/// Viewer tokens on a real Kestrel with real WebSockets: a backend mints a token with its API key (POST /v1/tokens), a
/// browser-like client views with it only what it allows; tokens never ingest, never cross tenants, expire, and are
/// validated by any gateway with the same signing keys.
/// </summary>
public sealed class ViewerTokenTests(ITestOutputHelper output)
{
    private static readonly string[] OneKey = SigningKeyArgs(("k1", "viewer-token-tests", true));

    private static Task<OwnHost> StartAsync(params string[] extra) => OwnHost.StartAsync(
        [.. OneKey, "--Router:Gateway:Limits:AuthFailureBurst=10000", "--Router:Gateway:Limits:AuthFailuresPerMinute=10000", .. extra]);

    [Fact]
    public async Task A_token_for_one_source_views_only_that_source_and_never_ingests()
    {
        await using var own = await StartAsync();
        var host = own.Host;
        await using var robot1 = await Pusher.StartAsync(host, RouterHost.AcmeKey, "robot-01", "front", "rear");
        await using var robot2 = await Pusher.StartAsync(host, RouterHost.AcmeKey, "robot-02", "front");
        await using var globex = await Pusher.StartAsync(host, RouterHost.GlobexKey, "robot-01", "front");
        await WaitListedAsync(host, RouterHost.AcmeKey, "robot-01");
        await WaitListedAsync(host, RouterHost.AcmeKey, "robot-02");
        await WaitListedAsync(host, RouterHost.GlobexKey, "robot-01");

        // The backend mints with a view-only key: one source, 10 minutes.
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var (status, minted) = await MintAsync(host, RouterHost.AcmeViewOnlyKey, new { source_ids = new[] { "robot-01" }, ttl_seconds = 600 });
        Assert.Equal(HttpStatusCode.OK, status);
        var token = minted.GetProperty("token").GetString()!;
        var expiresAt = minted.GetProperty("expires_at").GetInt64();
        Assert.InRange(expiresAt, before + 599_000, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 600_000);
        Assert.Equal("k1", KidOf(token));
        output.WriteLine($"token of {token.Length} characters");

        // WebSocket: its source streams (acme's robot-01 only: init lists nothing else)...
        var (consumer, init) = await ConsumerAsync(host, token, "robot-01", "?camera_id=front");
        await using (consumer)
        {
            Assert.Null(init.CloseStatus);
            var listed = init.Json.GetProperty("online_sources").EnumerateArray().Select(s => s.GetProperty("source_id").GetString()).ToList();
            Assert.Equal(["robot-01"], listed);
            var frame = (await NextFrameAsync(consumer)).Json;
            Assert.Equal(("robot-01", "front"), (frame.GetProperty("source_id").GetString(), frame.GetProperty("camera_id").GetString()));
        }
        // ...another source is refused with a reason naming it.
        var (other, refused) = await ConsumerAsync(host, token, "robot-02");
        await using (other)
        {
            Assert.Equal(4001, refused.CloseStatus);
            Assert.Equal("token does not allow source_id robot-02", refused.CloseReason);
        }

        // REST: the list shows only the allowed source; snapshots outside it get 403 with the reason.
        using (var http = host.Http(token))
        {
            var list = JsonDocument.Parse(await http.GetStringAsync("/v1/sources")).RootElement.GetProperty("sources");
            Assert.Equal(["robot-01"], list.EnumerateArray().Select(s => s.GetProperty("source_id").GetString()).ToList());
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/sources/robot-01/cameras/front/snapshot.jpg")).StatusCode);
            var outside = await http.GetAsync("/v1/sources/robot-02/cameras/front/snapshot.jpg");
            Assert.Equal(HttpStatusCode.Forbidden, outside.StatusCode);
            Assert.Contains("token does not allow source_id robot-02", await outside.Content.ReadAsStringAsync());

            // Never ingest: HTTP ingest 403 with the reason, and a token cannot mint tokens.
            using var jpeg = new ByteArrayContent(Support.TestFrames.Vtest[0]);
            jpeg.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
            var ingest = await http.PostAsync("/v1/sources/robot-01/video/frames?camera_id=front", jpeg);
            Assert.Equal(HttpStatusCode.Forbidden, ingest.StatusCode);
            Assert.Contains("viewer token grants only the view scope", await ingest.Content.ReadAsStringAsync());
            var mint = await http.PostAsync("/v1/tokens", null);
            Assert.Equal(HttpStatusCode.Forbidden, mint.StatusCode);
            Assert.Contains("a viewer token cannot mint tokens", await mint.Content.ReadAsStringAsync());
        }
        // Device WebSocket: error reply and close 1008 with the reason.
        await using (var device = await WsClient.ConnectAsync(new Uri(host.WsBase, "/ws/device")))
        {
            await device.SendJsonAsync(AdmissionClients.DeviceAuth(token, "robot-01"));
            Assert.Contains("a viewer token cannot ingest", (await device.ReceiveAsync()).Text);
            var close = await device.ReceiveCloseAsync();
            Assert.Equal(1008, close.CloseStatus);
        }

        // Another tenant's token never sees acme's robot-01, though globex has a source of the same name.
        var globexToken = await TokenAsync(host, RouterHost.GlobexKey, new { source_ids = new[] { "robot-01" } });
        var (globexConsumer, globexInit) = await ConsumerAsync(host, globexToken, "robot-01", "?camera_id=rear");
        await using (globexConsumer)
        {
            Assert.Null(globexInit.CloseStatus);
            Assert.DoesNotContain("\"rear\"", globexInit.Text); // acme's robot-01 has a rear camera, globex's has none
            using var http = host.Http(globexToken);
            var cameras = JsonDocument.Parse(await http.GetStringAsync("/v1/sources")).RootElement.GetProperty("sources")
                .EnumerateArray().SelectMany(s => s.GetProperty("cameras").EnumerateArray()).Select(c => c.GetProperty("camera_id").GetString()).ToList();
            Assert.Equal(["front"], cameras);
            // No acme frame of the rear camera reaches the globex consumer (globex never pushes one).
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => globexConsumer.ReceiveAsync(TimeSpan.FromSeconds(1.5)));
        }
    }

    [Fact]
    public async Task A_token_with_camera_ids_opens_only_those_cameras()
    {
        await using var own = await StartAsync();
        var host = own.Host;
        await using var robot = await Pusher.StartAsync(host, RouterHost.AcmeKey, "robot-01", "front", "rear");
        var token = await TokenAsync(host, RouterHost.AcmeKey, new { source_ids = new[] { "robot-01" }, camera_ids = new[] { "front" } });

        var (rear, refused) = await ConsumerAsync(host, token, "robot-01", "?camera_id=front&camera_id=rear");
        await using (rear)
        {
            Assert.Equal(4001, refused.CloseStatus);
            Assert.Equal("token does not allow camera_id rear", refused.CloseReason);
        }
        // Without camera_id: every camera the token allows, i.e. only front, while rear keeps pushing.
        var (all, init) = await ConsumerAsync(host, token, "robot-01");
        await using (all)
        {
            Assert.Null(init.CloseStatus);
            for (var i = 0; i < 10; i++)
                Assert.Equal("front", (await NextFrameAsync(all)).Json.GetProperty("camera_id").GetString());
        }
        using var http = host.Http(token);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync("/v1/sources/robot-01/cameras/rear/snapshot.jpg")).StatusCode);
    }

    [Fact]
    public async Task An_expired_token_keeps_its_open_stream_but_opens_no_new_one()
    {
        await using var own = await StartAsync("--Router:Tokens:ClockSkew=00:00:00");
        var host = own.Host;
        await using var robot = await Pusher.StartAsync(host, RouterHost.AcmeKey, "robot-01", "front");
        var (_, minted) = await MintAsync(host, RouterHost.AcmeKey, new { ttl_seconds = 4 });
        var token = minted.GetProperty("token").GetString()!;
        var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(minted.GetProperty("expires_at").GetInt64());
        var (open, init) = await ConsumerAsync(host, token, "robot-01");
        await using var _ = open;
        Assert.Null(init.CloseStatus);

        using var failures = new CounterProbe("router.auth.failures");
        using var http = host.Http(token);
        HttpResponseMessage response;
        var deadline = WaitDeadline.In(TimeSpan.FromSeconds(20));
        while ((response = await http.GetAsync("/v1/sources")).StatusCode == HttpStatusCode.OK)
        {
            Assert.False(deadline.Passed, "the token was still accepted 20 s after minting");
            await Task.Delay(200);
        }
        output.WriteLine($"refused {(DateTimeOffset.UtcNow - expiresAt).TotalMilliseconds:0} ms after expires_at");
        Assert.True(DateTimeOffset.UtcNow >= expiresAt, "refused before its expiry");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("viewer token: token expired", await response.Content.ReadAsStringAsync());

        var (late, closed) = await ConsumerAsync(host, token, "robot-01");
        await using (late)
        {
            Assert.Equal(4001, closed.CloseStatus);
            Assert.Equal("unauthorized: token expired", closed.CloseReason);
        }
        Assert.True(failures.Total >= 2, $"auth failures counted: {failures.Total}");
        // The stream opened before the expiry still gets frames (until its timeout).
        Assert.Equal("video_frame", (await NextFrameAsync(open)).Json.GetProperty("type").GetString());
        Assert.Equal(WebSocketState.Open, open.State);
    }

    [Theory]
    [InlineData("unknown-kid", "token signing key unknown (kid k9)")]
    [InlineData("bad-signature", "token signature invalid")]
    [InlineData("expired", "token expired")]
    [InlineData("wrong-issuer", "token issuer invalid")]
    [InlineData("alg-none", "token algorithm must be HS256")]
    [InlineData("oversize", "token over 8192 characters")]
    [InlineData("garbage", "token malformed")]
    public async Task A_bad_token_is_refused_with_its_reason_and_counted(string kind, string reason)
    {
        await using var own = await StartAsync();
        var host = own.Host;
        var token = kind switch
        {
            "unknown-kid" => Forge("k9", "viewer-token-tests"),
            "bad-signature" => Forge("k1", "another-secret"),
            "expired" => Forge("k1", "viewer-token-tests", expires: DateTime.UtcNow.AddMinutes(-1)),
            "wrong-issuer" => Forge("k1", "viewer-token-tests", issuer: "someone-else"),
            "alg-none" => "eyJhbGciOiJub25lIiwia2lkIjoiazEifQ.eyJ0ZW5hbnQiOiJhY21lIiwic2NvcGUiOiJ2aWV3In0.",
            "oversize" => "eyJ" + new string('a', 9000) + ".b.c",
            _ => "eyJhbGciOiJIUzI1NiJ9.!!!.???",
        };
        using var failures = new CounterProbe("router.auth.failures");
        using var refusals = new CounterProbe("router.tokens.refused", ("reason", Router.Gateway.Security.ViewerTokenMetrics.Reason(reason)));
        var (consumer, closed) = await ConsumerAsync(host, token, "robot-01");
        await using (consumer)
        {
            Assert.Equal(4001, closed.CloseStatus);
            Assert.Equal($"unauthorized: {reason}", closed.CloseReason);
        }
        using var http = host.Http(token);
        var response = await http.GetAsync("/v1/sources");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync());
        Assert.True(failures.Total >= 2, $"auth failures counted: {failures.Total}");
        Assert.True(refusals.Total >= 2, $"refusals counted: {refusals.Total}");
        Assert.NotEqual("other", Router.Gateway.Security.ViewerTokenMetrics.Reason(reason));
    }

    [Fact]
    public async Task A_token_minted_by_one_gateway_is_accepted_by_another()
    {
        await using var minting = await StartAsync();
        await using var viewing = await StartAsync();
        await using var robot = await Pusher.StartAsync(viewing.Host, RouterHost.AcmeKey, "robot-01", "front");
        var token = await TokenAsync(minting.Host, RouterHost.AcmeKey, new { source_ids = new[] { "robot-01" } });

        using (var http = viewing.Host.Http(token)) Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/sources")).StatusCode);
        var (consumer, init) = await ConsumerAsync(viewing.Host, token, "robot-01");
        await using (consumer)
        {
            Assert.Null(init.CloseStatus);
            Assert.Equal("robot-01", (await NextFrameAsync(consumer)).Json.GetProperty("source_id").GetString());
        }
        // A gateway with other keys refuses it.
        await using var stranger = await OwnHost.StartAsync(SigningKeyArgs(("k1", "a-different-secret", true)));
        using (var http = stranger.Host.Http(token))
        {
            var response = await http.GetAsync("/v1/sources");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Contains("token signature invalid", await response.Content.ReadAsStringAsync());
        }
    }
}
