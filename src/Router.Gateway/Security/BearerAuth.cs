using Router.Gateway.Admission;

namespace Router.Gateway.Security;

/// <summary>Resolves <c>Authorization: Bearer &lt;key or viewer token&gt;</c> for the REST endpoints and HTTP ingest.</summary>
internal static class BearerAuth
{
    /// <summary>
    /// Returns the identity when the request's bearer key is valid and has <paramref name="scope"/>; otherwise null
    /// and an <paramref name="error"/> result: 401 (missing or unknown key), 403 (scope missing), or 429 with
    /// <c>Retry-After</c> when the client's address has made too many failed authentications (then the key is not
    /// checked; see <see cref="AuthFailureLimiter"/>). A 401 counts as a failed authentication. A credential that is
    /// no API key but has the shape of a JWT is validated as a viewer token (<see cref="ViewerTokens"/>): an invalid
    /// one gets 401 with the reason (e.g. <c>viewer token: token expired</c>), a valid one grants only <c>view</c>
    /// (403 for any other scope) with the token's restrictions in <see cref="ApiKeyIdentity.Grant"/>.
    /// </summary>
    public static ApiKeyIdentity? Authorize(HttpContext context, ApiKeyStore keys, string scope, out IResult? error)
    {
        var failures = context.RequestServices?.GetService<AuthFailureLimiter>();
        if (failures is not null && failures.IsBlocked(context, out var retryAfter))
        {
            var seconds = (int)Math.Ceiling(retryAfter.TotalSeconds);
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            error = Results.Json(new { error = $"too many failed authentications from this address; retry after {seconds} s" },
                statusCode: StatusCodes.Status429TooManyRequests);
            return null;
        }
        var header = context.Request.Headers.Authorization.ToString();
        const string prefix = "Bearer ";
        var key = header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) ? header[prefix.Length..].Trim() : null;
        var identity = keys.Authenticate(key);
        if (identity is null && ViewerTokens.LooksLikeToken(key) && context.RequestServices?.GetService<ViewerTokens>() is { } tokens)
        {
            var grant = tokens.Validate(key, out var tokenError);
            if (grant is null)
            {
                failures?.RecordFailure(context);
                context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
                error = Results.Json(new { error = $"viewer token: {tokenError}" }, statusCode: StatusCodes.Status401Unauthorized);
                return null;
            }
            identity = ApiKeyIdentity.ForToken(grant);
        }
        if (identity is null)
        {
            failures?.RecordFailure(context);
            context.Response.Headers.WWWAuthenticate = "Bearer";
            error = Results.Json(new { error = "missing or invalid API key (Authorization: Bearer <key>)" }, statusCode: StatusCodes.Status401Unauthorized);
            return null;
        }
        if (!identity.Has(scope))
        {
            error = Results.Json(new
            {
                error = identity.Grant is null ? $"API key lacks the '{scope}' scope" : $"a viewer token grants only the view scope, not '{scope}' (use an API key)",
            }, statusCode: StatusCodes.Status403Forbidden);
            return null;
        }
        error = null;
        return identity;
    }
}
