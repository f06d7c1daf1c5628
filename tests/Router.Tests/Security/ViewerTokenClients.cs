using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Router.Tests.EndToEnd;
using Router.Tests.Support;

namespace Router.Tests.Security;

/// <summary>Helpers of the viewer token tests: minting over HTTP, consumers that authenticate with a token, a device that keeps pushing.</summary>
internal static class ViewerTokenClients
{
    /// <summary>A 256-bit signing key (base64) derived from <paramref name="seed"/>, so two hosts can share it.</summary>
    public static string SigningKey(string seed) => Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(seed)));

    /// <summary>Command-line settings for signing keys: (kid, seed, current).</summary>
    public static string[] SigningKeyArgs(params (string Kid, string Seed, bool Current)[] keys) =>
        keys.SelectMany((k, i) => new[]
        {
            $"--Router:Tokens:SigningKeys:{i}:Kid={k.Kid}",
            $"--Router:Tokens:SigningKeys:{i}:Key={SigningKey(k.Seed)}",
            $"--Router:Tokens:SigningKeys:{i}:Current={k.Current}",
        }).ToArray();

    /// <summary><c>POST /v1/tokens</c>; returns the status and the JSON answer.</summary>
    public static async Task<(HttpStatusCode Status, JsonElement Body)> MintAsync(IRouterEndpoint host, string key, object? body = null)
    {
        using var http = host.Http(key);
        using HttpContent? content = body switch
        {
            null => null,
            string raw => new StringContent(raw, Encoding.UTF8, "application/json"),
            _ => JsonContent.Create(body),
        };
        using var response = await http.PostAsync("/v1/tokens", content);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text.Length == 0 ? "{}" : text).RootElement.Clone());
    }

    /// <summary>Mints a token and asserts the 200.</summary>
    public static async Task<string> TokenAsync(IRouterEndpoint host, string key, object? body = null)
    {
        var (status, json) = await MintAsync(host, key, body);
        if (status != HttpStatusCode.OK) throw new InvalidOperationException($"POST /v1/tokens: {(int)status} {json}");
        return json.GetProperty("token").GetString()!;
    }

    /// <summary>Opens the consumer stream and authenticates with a token; returns the client and its first message (init or the close).</summary>
    public static async Task<(WsClient Client, WsMessage First)> ConsumerAsync(IRouterEndpoint host, string token, string sourceId, string query = "")
    {
        var consumer = await WsClient.ConnectAsync(new Uri(host.WsBase, $"/v1/sources/{sourceId}/video/stream{query}"));
        await consumer.SendJsonAsync(new { type = "auth", token });
        return (consumer, await consumer.ReceiveAsync(TimeSpan.FromSeconds(15)));
    }

    /// <summary>Waits until <c>GET /v1/sources</c> with <paramref name="key"/> lists <paramref name="sourceId"/> (its frames are flowing).</summary>
    public static async Task WaitListedAsync(IRouterEndpoint host, string key, string sourceId)
    {
        using var http = host.Http(key);
        var deadline = WaitDeadline.In(TimeSpan.FromSeconds(20));
        while (!(await http.GetStringAsync("/v1/sources")).Contains($"\"source_id\":\"{sourceId}\"", StringComparison.Ordinal))
        {
            if (deadline.Passed) throw new TimeoutException($"{sourceId} was not listed within 20 s");
            await Task.Delay(100);
        }
    }

    /// <summary>The kid in a token's header.</summary>
    public static string KidOf(string token) => new JsonWebToken(token).Kid;

    /// <summary>A token signed by the test itself (e.g. with a key the gateway does not have).</summary>
    public static string Forge(string kid, string seed, string tenant = "acme", DateTime? expires = null, string issuer = "router")
    {
        var key = new SymmetricSecurityKey(Convert.FromBase64String(SigningKey(seed))) { KeyId = kid };
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = "router-viewer",
            IssuedAt = now.AddMinutes(-2),
            NotBefore = now.AddMinutes(-2),
            Expires = expires ?? now.AddMinutes(10),
            Claims = new Dictionary<string, object> { ["tenant"] = tenant, ["scope"] = "view" },
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
    }

    /// <summary>True when a video_frame of <paramref name="cameraId"/> arrives within the deadline.</summary>
    public static async Task<WsMessage> NextFrameAsync(WsClient consumer, TimeSpan? timeout = null) =>
        await consumer.ReceiveUntilAsync(m => m.Type == WebSocketMessageType.Text && m.Json.GetProperty("type").GetString() == "video_frame",
            timeout ?? TimeSpan.FromSeconds(20));

    /// <summary>
    /// A device that pushes a real frame to each of <paramref name="cameraIds"/> of <paramref name="sourceId"/> every
    /// 100 ms until disposed.
    /// </summary>
    public sealed class Pusher : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly WsClient _device;

        private Pusher(WsClient device, string[] cameraIds)
        {
            _device = device;
            _loop = Task.Run(async () =>
            {
                using var clock = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
                for (var i = 0; !_stop.IsCancellationRequested; i++)
                {
                    var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                    foreach (var camera in cameraIds)
                        await device.SendBinaryAsync(WsClient.BinaryFrame("ignored", camera, TestFrames.Vtest[i % TestFrames.Vtest.Count], ts));
                    try { await clock.WaitForNextTickAsync(_stop.Token); } catch (OperationCanceledException) { return; }
                }
            });
        }

        public static async Task<Pusher> StartAsync(IRouterEndpoint host, string key, string sourceId, params string[] cameraIds) =>
            new(await WsClient.DeviceAsync(host, key, sourceId), cameraIds);

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            try { await _loop; } catch (Exception e) when (e is WebSocketException or OperationCanceledException) { }
            await _device.DisposeAsync();
            _stop.Dispose();
        }
    }
}
