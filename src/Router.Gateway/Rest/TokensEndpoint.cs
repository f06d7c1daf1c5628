using System.Text.Json;
using Microsoft.Extensions.Options;
using Router.Gateway.Security;
using Router.Protocol;

namespace Router.Gateway.Rest;

/// <summary>
/// <c>POST /v1/tokens</c> with an API key holding <c>view</c> and an optional JSON body
/// <c>{"source_ids":[…],"camera_ids":[…],"ttl_seconds":600}</c> (every field optional): mints a viewer token for the
/// key's tenant (<see cref="ViewerTokens"/>) and answers <c>200 {"token":…,"expires_at":&lt;Unix ms&gt;}</c>.
/// 400 for a bad body (named field and reason), 401/403/429 as for the other endpoints (a viewer token cannot mint
/// tokens: 403), 413 for a body over <see cref="MaxBodyBytes"/>, 503 when no signing key is configured.
/// </summary>
internal sealed class TokensEndpoint(ApiKeyStore keys, ViewerTokens tokens, IOptions<GatewayOptions> gatewayOptions)
{
    /// <summary>Largest request body in bytes.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>A parsed token request: null lists allow every source or camera.</summary>
    private sealed record TokenRequest(IReadOnlyList<string>? SourceIds, IReadOnlyList<string>? CameraIds, TimeSpan Ttl);

    public async Task<IResult> MintAsync(HttpContext context)
    {
        var identity = BearerAuth.Authorize(context, keys, ApiScopes.View, out var authError);
        if (identity is null) return authError!;
        if (identity.Grant is not null)
            return Error(StatusCodes.Status403Forbidden, "a viewer token cannot mint tokens: use an API key with the view scope");
        if (!tokens.Enabled)
            return Error(StatusCodes.Status503ServiceUnavailable, "viewer tokens are not enabled: no signing key is configured (Router:Tokens:SigningKeys)");
        if (context.Request.ContentLength > MaxBodyBytes) return Error(StatusCodes.Status413PayloadTooLarge, $"body over {MaxBodyBytes} bytes");
        byte[]? body;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted))
        {
            deadline.CancelAfter(gatewayOptions.Value.Limits.BodyReadTimeout);
            try
            {
                body = await ReadBodyAsync(context.Request.Body, deadline.Token);
            }
            catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
            {
                context.Response.Headers.Connection = "close";
                return Error(StatusCodes.Status408RequestTimeout, "the request body did not arrive in time");
            }
        }
        if (body is null) return Error(StatusCodes.Status413PayloadTooLarge, $"body over {MaxBodyBytes} bytes");
        var request = Parse(body, tokens.Settings, out var error);
        if (request is null) return Error(StatusCodes.Status400BadRequest, error!);
        var (token, expiresAt) = tokens.Mint(identity.Tenant, request.SourceIds, request.CameraIds, request.Ttl);
        if (token.Length > ViewerTokens.MaxTokenChars)
            return Error(StatusCodes.Status400BadRequest, $"the token would be {token.Length} characters, over {ViewerTokens.MaxTokenChars}: name fewer or shorter ids");
        context.Response.Headers.CacheControl = "no-store";
        return Results.Json(new { token, expires_at = expiresAt });
    }

    private static IResult Error(int status, string error) => Results.Json(new { error }, statusCode: status);

    /// <summary>
    /// Parses the body (empty: every default). Returns null with the reason: not one JSON object, an unknown field,
    /// a list that is not 1–64 valid ids, a ttl_seconds that is not a whole number of seconds within 1–MaxTtl.
    /// </summary>
    private static TokenRequest? Parse(byte[] body, ViewerTokenOptions options, out string? error)
    {
        error = null;
        var maxTtl = (long)options.MaxTtl.TotalSeconds;
        if (body.AsSpan().Trim(" \t\r\n"u8).IsEmpty) return new TokenRequest(null, null, options.DefaultTtl);
        IReadOnlyList<string>? sources = null, cameras = null;
        var ttl = options.DefaultTtl;
        try
        {
            using var doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 4 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return Fail<TokenRequest>("the body must be a JSON object", out error);
            foreach (var field in doc.RootElement.EnumerateObject())
            {
                switch (field.Name)
                {
                    case "source_ids":
                        sources = ReadIds(field.Value, "source_ids", id => Identifiers.IsValidSourceId(id, out _), out error);
                        if (sources is null) return null;
                        break;
                    case "camera_ids":
                        cameras = ReadIds(field.Value, "camera_ids", id => Identifiers.IsValidCameraId(id, out _), out error);
                        if (cameras is null) return null;
                        break;
                    case "ttl_seconds":
                        if (field.Value.ValueKind != JsonValueKind.Number || !field.Value.TryGetInt64(out var seconds) || seconds < 1 || seconds > maxTtl)
                            return Fail<TokenRequest>($"ttl_seconds must be a whole number of seconds from 1 to {maxTtl}", out error);
                        ttl = TimeSpan.FromSeconds(seconds);
                        break;
                    default:
                        return Fail<TokenRequest>($"unknown field '{Truncate(field.Name)}' (fields: source_ids, camera_ids, ttl_seconds)", out error);
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return Fail<TokenRequest>("the body is not valid JSON", out error);
        }
        return new TokenRequest(sources, cameras, ttl);
    }

    private static List<string>? ReadIds(JsonElement value, string name, Func<string, bool> valid, out string? error)
    {
        error = null;
        if (value.ValueKind == JsonValueKind.Null) return Fail<List<string>>($"{name} must be an array of strings (leave it out to allow every one)", out error);
        if (value.ValueKind != JsonValueKind.Array) return Fail<List<string>>($"{name} must be an array of strings", out error);
        var count = value.GetArrayLength();
        if (count == 0 || count > ViewerTokens.MaxIds)
            return Fail<List<string>>($"{name} must have 1 to {ViewerTokens.MaxIds} entries (leave it out to allow every one)", out error);
        var ids = new List<string>(count);
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) return Fail<List<string>>($"{name} must be an array of strings", out error);
            var id = item.GetString()!;
            if (!valid(id)) return Fail<List<string>>($"{name}: '{Truncate(id)}' is not a valid {name[..^1]}", out error);
            if (!ids.Contains(id, StringComparer.Ordinal)) ids.Add(id);
        }
        return ids;
    }

    private static T? Fail<T>(string reason, out string? error) where T : class
    {
        error = reason;
        return null;
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";

    /// <summary>Reads the body; null when it exceeds <see cref="MaxBodyBytes"/>.</summary>
    private static async Task<byte[]?> ReadBodyAsync(Stream body, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[8 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, ct)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > MaxBodyBytes) return null;
        }
        return buffer.ToArray();
    }
}
