using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Router.Tests.Admission;
using Router.Tests.EndToEnd;
using Xunit;
using Xunit.Abstractions;
using static Router.Tests.Security.ViewerTokenClients;

namespace Router.Tests.Security;

/// <summary>
/// Signing key rotation through the keys file (a Kubernetes Secret, re-read when it changes): a token signed with the
/// old key stays valid while the old key is listed, and is refused (its open streams closed) once the key is removed.
/// </summary>
public sealed class ViewerTokenRotationTests(ITestOutputHelper output)
{
    private static string File(params (string Kid, string Seed, bool Current)[] keys) => JsonSerializer.Serialize(new
    {
        Router = new { Tokens = new { SigningKeys = keys.Select(k => new { k.Kid, Key = SigningKey(k.Seed), k.Current }).ToArray() } },
    });

    [Fact]
    public async Task A_token_of_the_old_key_is_accepted_while_the_key_is_listed_and_refused_after_it_is_removed()
    {
        using var secret = new SecretVolume(File(("old", "rotation-old", true)));
        await using var own = await OwnHost.StartAsync($"--Router:ApiKeysFile={secret.FilePath}",
            "--Router:Gateway:Limits:AuthFailureBurst=10000", "--Router:Gateway:Limits:AuthFailuresPerMinute=10000");
        var host = own.Host;
        var oldToken = await TokenAsync(host, RouterHost.AcmeKey);
        Assert.Equal("old", KidOf(oldToken));
        var (open, init) = await ConsumerAsync(host, oldToken, "robot-01");
        await using var _ = open;
        Assert.Null(init.CloseStatus);

        // Rotate in: the new key signs, the old one still validates.
        string? newToken = null;
        await secret.UpdateUntilAsync(File(("old", "rotation-old", false), ("new", "rotation-new", true)), async () =>
        {
            newToken = await TokenAsync(host, RouterHost.AcmeKey);
            return KidOf(newToken) == "new";
        });
        using (var http = host.Http(oldToken)) Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/sources")).StatusCode);
        using (var http = host.Http(newToken)) Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/sources")).StatusCode);
        Assert.Equal(WebSocketState.Open, open.State);

        // Rotate out: the old key's tokens are refused and their open stream is closed with the reason.
        using var revocations = new CounterProbe("router.api_key.revoked_connections");
        await secret.UpdateUntilAsync(File(("new", "rotation-new", true)), async () =>
        {
            using var http = host.Http(oldToken);
            return (await http.GetAsync("/v1/sources")).StatusCode == HttpStatusCode.Unauthorized;
        });
        using (var http = host.Http(oldToken))
            Assert.Contains("token signing key unknown (kid old)", await (await http.GetAsync("/v1/sources")).Content.ReadAsStringAsync());
        var closed = await open.ReceiveCloseAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(4001, closed.CloseStatus);
        Assert.Equal("token signing key revoked", closed.CloseReason);
        Assert.True(revocations.Total >= 1, $"revocations counted: {revocations.Total}");
        using (var http = host.Http(newToken)) Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/sources")).StatusCode);
        var (late, refused) = await ConsumerAsync(host, oldToken, "robot-01");
        await using (late) Assert.Equal("unauthorized: token signing key unknown (kid old)", refused.CloseReason);
        output.WriteLine("old key's token refused after the reload; new key's token accepted");
    }

    [Fact]
    public async Task A_keys_file_with_two_current_signing_keys_is_not_applied()
    {
        using var secret = new SecretVolume(File(("old", "rotation-old", true)));
        await using var own = await OwnHost.StartAsync($"--Router:ApiKeysFile={secret.FilePath}");
        var host = own.Host;
        using var rejected = new CounterProbe("router.api_key.file_reloads", ("result", "rejected"));
        await secret.UpdateUntilAsync(File(("old", "rotation-old", true), ("new", "rotation-new", true)), () => Task.FromResult(rejected.Total > 0));
        Assert.Equal("old", KidOf(await TokenAsync(host, RouterHost.AcmeKey)));
    }
}
