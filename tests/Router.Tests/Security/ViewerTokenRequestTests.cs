using System.Net;
using CsCheck;
using Microsoft.Extensions.Options;
using Router.Gateway.Security;
using Router.Tests.Deploy;
using Router.Tests.EndToEnd;
using Xunit;
using static Router.Tests.Security.ViewerTokenClients;

namespace Router.Tests.Security;

/// <summary><c>POST /v1/tokens</c> requests on a real Kestrel (standalone: a random signing key), and the signing key settings.</summary>
[Collection(RouterHostCollection.Name)]
public sealed class ViewerTokenRequestTests(RouterHost host)
{
    [Theory]
    [InlineData("[1,2]", "the body must be a JSON object")]
    [InlineData("{\"ttl_seconds\":", "the body is not valid JSON")]
    [InlineData("{\"ttl_seconds\":0}", "ttl_seconds must be a whole number of seconds from 1 to 86400")]
    [InlineData("{\"ttl_seconds\":86401}", "ttl_seconds must be a whole number of seconds from 1 to 86400")]
    [InlineData("{\"ttl_seconds\":1.5}", "ttl_seconds must be a whole number")]
    [InlineData("{\"ttl_seconds\":\"600\"}", "ttl_seconds must be a whole number")]
    [InlineData("{\"source_ids\":\"robot-01\"}", "source_ids must be an array of strings")]
    [InlineData("{\"source_ids\":null}", "source_ids must be an array of strings")]
    [InlineData("{\"source_ids\":[]}", "source_ids must have 1 to 64 entries")]
    [InlineData("{\"source_ids\":[\"Robot 1\"]}", "source_ids: 'Robot 1' is not a valid source_id")]
    [InlineData("{\"camera_ids\":[\"a\\u0001\"]}", "is not a valid camera_id")]
    [InlineData("{\"camera_ids\":[7]}", "camera_ids must be an array of strings")]
    [InlineData("{\"source_id\":[\"robot-01\"]}", "unknown field 'source_id'")]
    public async Task A_bad_body_gets_400_with_the_reason(string body, string reason)
    {
        var (status, json) = await MintAsync(host, RouterHost.AcmeKey, body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(reason, json.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Too_many_or_too_long_ids_are_refused_before_a_token_is_handed_out()
    {
        var many = Enumerable.Range(0, 65).Select(i => $"robot-{i}").ToArray();
        var (status, json) = await MintAsync(host, RouterHost.AcmeKey, new { source_ids = many });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("source_ids must have 1 to 64 entries", json.GetProperty("error").GetString());

        var long255 = Enumerable.Range(0, 64).Select(i => $"{i:00}" + new string('x', 253)).ToArray();
        (status, json) = await MintAsync(host, RouterHost.AcmeKey, new { source_ids = long255, camera_ids = long255 });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("over 8192: name fewer or shorter ids", json.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Without_a_body_the_token_lasts_one_hour_for_every_source()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var (status, json) = await MintAsync(host, RouterHost.AcmeViewOnlyKey);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.InRange(json.GetProperty("expires_at").GetInt64(), before + 3_599_000, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 3_600_000);
        using var http = host.Http(json.GetProperty("token").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/sources")).StatusCode);
    }

    [Fact]
    public async Task Minting_needs_an_api_key_with_view()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await MintAsync(host, "no-such-key")).Status);
        var (status, json) = await MintAsync(host, RouterHost.AcmeIngestOnlyKey);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("lacks the 'view' scope", json.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("k1", "c2hvcnQ=", false, "Key must be 32–1024 bytes (at least 256 bits; got 5 bytes)")]
    [InlineData("k1", "not base64!", false, "Key must be standard base64")]
    [InlineData("bad kid", null, false, "Kid must be 1–64 characters")]
    [InlineData("", null, false, "Kid must be 1–64 characters")]
    public void Invalid_signing_keys_stop_the_start_with_the_entry_named(string kid, string? key, bool current, string problem)
    {
        var options = new ViewerTokenOptions { SigningKeys = [new TokenSigningKey { Kid = kid, Key = key ?? SigningKey("x"), Current = current }] };
        var result = new ViewerTokenOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains("Router:Tokens:SigningKeys:0: " + problem, result.FailureMessage);
    }

    [Fact]
    public void Several_keys_need_exactly_one_current_and_distinct_kids()
    {
        TokenSigningKey Key(string kid, bool current) => new() { Kid = kid, Key = SigningKey(kid), Current = current };
        var none = Assert.Throws<OptionsValidationException>(() => Tokens(Key("a", false), Key("b", false)));
        Assert.Contains("mark the key that signs new tokens with Current: true", none.Message);
        var two = Assert.Throws<OptionsValidationException>(() => Tokens(Key("a", true), Key("b", true)));
        Assert.Contains("more than one key is marked Current", two.Message);
        var twice = Assert.Throws<OptionsValidationException>(() => Tokens(Key("a", true), Key("a", false)));
        Assert.Contains("Kid 'a' is listed twice", twice.Message);

        var tokens = Tokens(Key("a", false), Key("b", true));
        var (token, _) = tokens.Mint("acme", ["robot-01"], null, TimeSpan.FromMinutes(1));
        Assert.Equal("b", KidOf(token));
        var grant = tokens.Validate(token, out var error);
        Assert.Null(error);
        Assert.Equal(("acme", "b"), (grant!.Tenant, grant.Kid));
        Assert.Equal(["robot-01"], grant.SourceIds!);
        Assert.Null(grant.CameraIds);
        Assert.False(Tokens().Enabled);
        Assert.Null(Tokens().Validate(token, out error));
        Assert.Equal("viewer tokens are not enabled on this gateway", error);
    }

    [Theory]
    [InlineData("Router__Tokens__SigningKeys__0__Key")]
    [InlineData("Router__Tokens__SigningKeys__1__Current")]
    [InlineData("Router__Tokens__DefaultTtl")]
    public void The_gateway_reads_the_token_settings(string variable) =>
        Assert.Null(AppConfigurationSurface.WhyNotRead(RouterProgram.Gateway, variable));

    [Theory]
    [InlineData("""{"type":"auth","token":"eyJ.a.b"}""", "eyJ.a.b")]
    [InlineData("""{"type":"auth","token":"eyJ.a.b","api_key":"k"}""", null)]
    [InlineData("""{"type":"auth","token":7}""", null)]
    [InlineData("""{"type":"auth","token":"\ud800"}""", null)]
    [InlineData("""{"type":"device_auth","token":"eyJ.a.b"}""", null)]
    public void The_auth_message_carries_a_token_instead_of_an_api_key(string message, string? token) =>
        Assert.Equal(token, Router.Protocol.ConsumerMessageParser.ParseAuthToken(System.Text.Encoding.UTF8.GetBytes(message)));

    [Fact]
    public void Mutated_tokens_are_refused_without_an_exception()
    {
        TokenSigningKey key = new() { Kid = "k1", Key = SigningKey("fuzz"), Current = true };
        var tokens = Tokens(key);
        var (token, _) = tokens.Mint("acme", ["robot-01"], ["front"], TimeSpan.FromMinutes(5));
        var valid = 0;
        Gen.Select(Gen.Int[0, token.Length - 1], Gen.Char["A-Za-z0-9._-=+/ {}\"\u0000é"], Gen.Int[0, 3]).Sample((at, c, op) =>
        {
            var mutated = op switch
            {
                0 => token[..at] + c + token[(at + 1)..],
                1 => token[..at] + c + token[at..],
                2 => token.Remove(at, 1),
                _ => token[..at],
            };
            var grant = tokens.Validate(mutated, out var error);
            Assert.True(grant is null ^ error is null);
            if (grant is null) return;
            Interlocked.Increment(ref valid);
            Assert.Equal(("acme", "robot-01", "front"), (grant.Tenant, grant.SourceIds!.Single(), grant.CameraIds!.Single()));
        }, iter: 2000);
        Assert.True(valid < 100, $"{valid} of 2000 mutated tokens were valid"); // only no-op mutations (e.g. unused base64url bits) may stay valid
    }

    private static ViewerTokens Tokens(params TokenSigningKey[] keys) =>
        new(Options.Create(new ViewerTokenOptions { SigningKeys = [.. keys] }), Options.Create(new ApiKeyOptions()));
}
