namespace Router.Gateway.Security;

/// <summary>Resolves <c>Authorization: Bearer &lt;key&gt;</c> for the REST endpoints.</summary>
internal static class BearerAuth
{
    /// <summary>
    /// Returns the identity when the request's bearer key is valid and has <paramref name="scope"/>; otherwise null
    /// and an <paramref name="error"/> result: 401 (missing or unknown key) or 403 (scope missing).
    /// </summary>
    public static ApiKeyIdentity? Authorize(HttpContext context, ApiKeyStore keys, string scope, out IResult? error)
    {
        var header = context.Request.Headers.Authorization.ToString();
        const string prefix = "Bearer ";
        var key = header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) ? header[prefix.Length..].Trim() : null;
        var identity = keys.Authenticate(key);
        if (identity is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            error = Results.Json(new { error = "missing or invalid API key (Authorization: Bearer <key>)" }, statusCode: StatusCodes.Status401Unauthorized);
            return null;
        }
        if (!identity.Has(scope))
        {
            error = Results.Json(new { error = $"API key lacks the '{scope}' scope" }, statusCode: StatusCodes.Status403Forbidden);
            return null;
        }
        error = null;
        return identity;
    }
}
