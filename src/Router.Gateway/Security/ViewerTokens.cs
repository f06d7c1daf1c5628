using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Router.Protocol;

namespace Router.Gateway.Security;

/// <summary>
/// What a valid viewer token grants: the <c>view</c> scope of <paramref name="Tenant"/>, restricted to
/// <paramref name="SourceIds"/> and <paramref name="CameraIds"/> when they are not null.
/// </summary>
/// <param name="Tenant">The tenant of the API key that minted the token.</param>
/// <param name="SourceIds">Allowed source_ids; null allows every source of the tenant.</param>
/// <param name="CameraIds">Allowed camera_ids (of any allowed source); null allows every camera.</param>
/// <param name="ExpiresAtMs">Expiry, Unix epoch milliseconds.</param>
/// <param name="Kid">Id of the key that signed the token.</param>
internal sealed record ViewerGrant(string Tenant, IReadOnlyList<string>? SourceIds, IReadOnlyList<string>? CameraIds, long ExpiresAtMs, string Kid)
{
    /// <summary>True when the token allows <paramref name="sourceId"/>.</summary>
    public bool AllowsSource(string sourceId) => SourceIds is null || SourceIds.Contains(sourceId, StringComparer.Ordinal);

    /// <summary>True when the token allows <paramref name="cameraId"/>.</summary>
    public bool AllowsCamera(string cameraId) => CameraIds is null || CameraIds.Contains(cameraId, StringComparer.Ordinal);

    /// <summary>True when the token allows the camera <paramref name="cameraId"/> of <paramref name="sourceId"/>.</summary>
    public bool Allows(string sourceId, string cameraId) => AllowsSource(sourceId) && AllowsCamera(cameraId);

    /// <summary>
    /// Why the token does not allow watching <paramref name="cameraIds"/> (null: every camera) of
    /// <paramref name="sourceId"/>, naming the source_id or camera_id; null when it does. Every camera of a source is
    /// allowed only when the token names no camera_ids.
    /// </summary>
    public string? Refusal(string sourceId, IReadOnlyList<string>? cameraIds)
    {
        if (!AllowsSource(sourceId)) return $"token does not allow source_id {sourceId}";
        foreach (var camera in cameraIds ?? [])
            if (!AllowsCamera(camera)) return $"token does not allow camera_id {camera}";
        return null;
    }
}

/// <summary>
/// Viewer tokens: short-lived signed JWTs (HS256, <see cref="JsonWebTokenHandler"/>) that grant a browser the
/// <c>view</c> scope of one tenant, optionally for some source_ids and camera_ids only, without its API key. Tokens
/// carry the id of their signing key (<c>kid</c>); every key of <see cref="ViewerTokenOptions.SigningKeys"/> and the
/// keys file validates, the one marked current signs, so keys rotate without cutting viewers off. Issuer and audience
/// are fixed; a token longer than <see cref="MaxTokenChars"/> is refused before it is parsed.
/// </summary>
internal sealed class ViewerTokens
{
    /// <summary>The <c>iss</c> of every token.</summary>
    public const string Issuer = "router";

    /// <summary>The <c>aud</c> of every token.</summary>
    public const string Audience = "router-viewer";

    /// <summary>Longest token accepted or minted, in characters (it must fit the 16 KiB consumer auth message).</summary>
    public const int MaxTokenChars = 8192;

    /// <summary>Most source_ids, and most camera_ids, one token may name.</summary>
    public const int MaxIds = 64;

    /// <summary>Smallest signing key in bytes (256 bits).</summary>
    public const int MinKeyBytes = 32;

    private const int MaxKeyBytes = 1024;
    private const string TenantClaim = "tenant";
    private const string ScopeClaim = "scope";
    private const string SourceIdsClaim = "source_ids";
    private const string CameraIdsClaim = "camera_ids";

    private readonly JsonWebTokenHandler _handler = new() { MaximumTokenSizeInBytes = MaxTokenChars, MapInboundClaims = false };
    private readonly ViewerTokenOptions _options;
    private readonly bool _keysFile;
    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<ApiKeyLease, byte> _leases = new();
    private IReadOnlyList<TokenSigningKey> _configured;
    private IReadOnlyList<TokenSigningKey> _fileKeys = [];
    private volatile KeyRing _ring;

    /// <summary>Loads <see cref="ViewerTokenOptions.SigningKeys"/>.</summary>
    /// <exception cref="OptionsValidationException">The keys are invalid.</exception>
    public ViewerTokens(IOptions<ViewerTokenOptions> options, IOptions<ApiKeyOptions> keys)
    {
        _options = options.Value;
        _keysFile = !string.IsNullOrWhiteSpace(keys.Value.ApiKeysFile);
        _configured = _options.SigningKeys.ToList();
        _ring = Build(_configured, _fileKeys, out var errors);
        if (errors.Count > 0) throw new OptionsValidationException(Options.DefaultName, typeof(ViewerTokenOptions), errors);
    }

    /// <summary>True when a signing key is configured (else tokens can be neither minted nor validated).</summary>
    public bool Enabled => _ring.Signing is not null;

    /// <summary>The settings (TTLs, clock skew).</summary>
    public ViewerTokenOptions Settings => _options;

    /// <summary>The reason sent when a connection is closed because its token's signing key was removed.</summary>
    public const string RevokedReason = "token signing key revoked";

    /// <summary>
    /// Adds a random signing key (kid <c>standalone</c>) when none is configured: standalone mode, whose single
    /// gateway is the only one that has to validate its tokens. Does nothing when keys are configured or a keys file
    /// is (it may bring them).
    /// </summary>
    public void UseRandomKeyIfNone()
    {
        lock (_lock)
        {
            if (_configured.Count > 0 || _fileKeys.Count > 0 || _keysFile) return;
            _configured = [new TokenSigningKey { Kid = "standalone", Key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), Current = true }];
            _ring = Build(_configured, _fileKeys, out _);
        }
    }

    /// <summary>
    /// Signs a token for <paramref name="tenant"/> that expires after <paramref name="ttl"/> (whole seconds, rounded
    /// down). Null lists allow every source or camera. The caller has checked the lists and the TTL.
    /// </summary>
    /// <returns>The token and its expiry in Unix epoch milliseconds.</returns>
    /// <exception cref="InvalidOperationException">No signing key is configured (<see cref="Enabled"/> is false).</exception>
    public (string Token, long ExpiresAtMs) Mint(string tenant, IReadOnlyList<string>? sourceIds, IReadOnlyList<string>? cameraIds, TimeSpan ttl)
    {
        var signing = _ring.Signing ?? throw new InvalidOperationException("no viewer token signing key is configured");
        var now = DateTimeOffset.UtcNow;
        var expires = DateTimeOffset.FromUnixTimeSeconds((now + ttl).ToUnixTimeSeconds());
        var claims = new Dictionary<string, object> { [TenantClaim] = tenant, [ScopeClaim] = ApiScopes.View };
        if (sourceIds is not null) claims[SourceIdsClaim] = sourceIds.ToArray();
        if (cameraIds is not null) claims[CameraIdsClaim] = cameraIds.ToArray();
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            Claims = claims,
            SigningCredentials = new SigningCredentials(signing, SecurityAlgorithms.HmacSha256),
        });
        ViewerTokenMetrics.Minted(tenant);
        return (token, expires.ToUnixTimeMilliseconds());
    }

    /// <summary>
    /// True when <paramref name="credential"/> has the shape of a JWT (three base64url parts, a JSON header): used to
    /// tell a token presented where only API keys are accepted (ingest) from an unknown key.
    /// </summary>
    public static bool LooksLikeToken([NotNullWhen(true)] string? credential) =>
        credential is { Length: > 0 } && credential.StartsWith("eyJ", StringComparison.Ordinal) && credential.Count(c => c == '.') == 2;

    /// <summary>
    /// Validates a token: size, signing key (by <c>kid</c>), HS256 signature, issuer, audience, expiry (with
    /// <see cref="ViewerTokenOptions.ClockSkew"/>), and the claims (a valid tenant, scope <c>view</c>, valid ids).
    /// </summary>
    /// <returns>The grant, or null and a short <paramref name="error"/> for the client (e.g. <c>token expired</c>).</returns>
    public ViewerGrant? Validate(string? token, out string? error)
    {
        var grant = Check(token, out error);
        if (grant is null) ViewerTokenMetrics.Refused(error!);
        return grant;
    }

    private ViewerGrant? Check(string? token, out string? error)
    {
        var ring = _ring;
        if (string.IsNullOrEmpty(token)) return Fail("token missing", out error);
        if (token.Length > MaxTokenChars) return Fail($"token over {MaxTokenChars} characters", out error);
        if (ring.Signing is null) return Fail("viewer tokens are not enabled on this gateway", out error);
        JsonWebToken parsed;
        try
        {
            parsed = _handler.ReadJsonWebToken(token);
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenMalformedException)
        {
            return Fail("token malformed", out error);
        }
        if (parsed.Alg != SecurityAlgorithms.HmacSha256) return Fail("token algorithm must be HS256", out error);
        var kid = parsed.Kid;
        if (string.IsNullOrEmpty(kid) || !ring.Keys.TryGetValue(kid, out var key))
            return Fail(IsValidKid(kid) ? $"token signing key unknown (kid {kid})" : "token signing key unknown", out error);
        var result = _handler.ValidateTokenAsync(parsed, Parameters(key)).GetAwaiter().GetResult(); // local key: completes synchronously
        if (!result.IsValid) return Fail(Describe(result.Exception), out error);
        return ReadGrant(parsed, kid, out error);
    }

    private TokenValidationParameters Parameters(SecurityKey key) => new()
    {
        ValidIssuer = Issuer,
        ValidAudience = Audience,
        IssuerSigningKey = key,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        RequireExpirationTime = true,
        RequireSignedTokens = true,
        ValidateLifetime = true,
        ValidateIssuerSigningKey = true,
        ClockSkew = _options.ClockSkew,
        TryAllIssuerSigningKeys = false,
    };

    private static string Describe(Exception? e) => e switch
    {
        SecurityTokenExpiredException => "token expired",
        SecurityTokenNotYetValidException => "token not valid yet",
        SecurityTokenNoExpirationException => "token has no expiry",
        SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException => "token signature invalid",
        SecurityTokenInvalidIssuerException => "token issuer invalid",
        SecurityTokenInvalidAudienceException => "token audience invalid",
        SecurityTokenInvalidAlgorithmException => "token algorithm must be HS256",
        _ => "token invalid",
    };

    private static ViewerGrant? ReadGrant(JsonWebToken token, string kid, out string? error)
    {
        if (!token.TryGetPayloadValue<string>(TenantClaim, out var tenant) || !Identifiers.IsValidTenant(tenant, out _))
            return Fail("token has no valid tenant", out error);
        if (!token.TryGetPayloadValue<string>(ScopeClaim, out var scope) || scope != ApiScopes.View)
            return Fail("token scope must be view", out error);
        if (!TryReadIds(token, SourceIdsClaim, id => Identifiers.IsValidSourceId(id, out _), out var sources) ||
            !TryReadIds(token, CameraIdsClaim, id => Identifiers.IsValidCameraId(id, out _), out var cameras))
            return Fail("token has invalid source_ids or camera_ids", out error);
        error = null;
        return new ViewerGrant(tenant, sources, cameras, new DateTimeOffset(token.ValidTo, TimeSpan.Zero).ToUnixTimeMilliseconds(), kid);
    }

    private static bool TryReadIds(JsonWebToken token, string claim, Func<string, bool> valid, out IReadOnlyList<string>? ids)
    {
        ids = null;
        if (!token.TryGetPayloadValue<object>(claim, out _)) return true; // absent: no restriction
        if (!token.TryGetPayloadValue<string[]>(claim, out var values) || values is null || values.Length > MaxIds) return false;
        if (!values.All(v => v is not null && valid(v))) return false;
        ids = values;
        return true;
    }

    private static ViewerGrant? Fail(string reason, out string? error)
    {
        error = reason;
        return null;
    }

    /// <summary>
    /// Registers an open connection authenticated with a token; its <see cref="ApiKeyLease.Revoked"/> fires when a
    /// keys file reload removes the token's signing key (the token's expiry does not end it).
    /// </summary>
    public ApiKeyLease Track(ApiKeyIdentity identity)
    {
        var lease = new ApiKeyLease(identity, ApiScopes.View, _leases, RevokedReason);
        _leases[lease] = 0;
        if (identity.Grant is not { } grant || !_ring.Keys.ContainsKey(grant.Kid)) lease.Revoke();
        return lease;
    }

    /// <summary>
    /// Replaces the signing keys of the keys file with <paramref name="entries"/> when they are valid together with the
    /// configured ones, then closes the open connections whose token's key is gone. Returns the problems (prefixed with
    /// <paramref name="source"/>); on any problem nothing changes.
    /// </summary>
    public IReadOnlyList<string> ReplaceFileKeys(IReadOnlyList<TokenSigningKey> entries, string source, out int revoked)
    {
        revoked = 0;
        KeyRing ring;
        lock (_lock)
        {
            var errors = FileKeyProblems(entries, source);
            if (errors.Count > 0) return errors;
            ring = Build(_configured, entries, out _);
            _fileKeys = entries.ToList();
            _ring = ring;
        }
        foreach (var lease in _leases.Keys)
        {
            if (lease.Identity.Grant is { } grant && ring.Keys.ContainsKey(grant.Kid)) continue;
            lease.Revoke();
            revoked++;
        }
        return [];
    }

    /// <summary>The problems <see cref="ReplaceFileKeys"/> would find in <paramref name="entries"/> (prefixed with <paramref name="source"/>).</summary>
    public IReadOnlyList<string> FileKeyProblems(IReadOnlyList<TokenSigningKey> entries, string source)
    {
        lock (_lock)
        {
            Build(_configured, entries, out var errors);
            return errors.Select(e => $"{source}: {e}").ToList();
        }
    }

    /// <summary>Checks the problems of <paramref name="checkedKeys"/> alone (each named <c>{at}:N</c>); empty when valid.</summary>
    public static IEnumerable<string> Problems(IReadOnlyList<TokenSigningKey> checkedKeys, string at)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < checkedKeys.Count; i++)
        {
            var entry = checkedKeys[i];
            if (!IsValidKid(entry.Kid)) yield return $"{at}:{i}: Kid must be 1–64 characters of A-Z a-z 0-9 . _ - (got '{Truncate(entry.Kid)}')";
            else if (!seen.Add(entry.Kid)) yield return $"{at}:{i}: Kid '{entry.Kid}' is listed twice";
            var length = KeyBytes(entry.Key)?.Length;
            if (length is null) yield return $"{at}:{i}: Key must be standard base64";
            else if (length < MinKeyBytes || length > MaxKeyBytes)
                yield return $"{at}:{i}: Key must be {MinKeyBytes}–{MaxKeyBytes} bytes (at least 256 bits; got {length} bytes)";
        }
        if (checkedKeys.Count(k => k.Current) > 1) yield return $"{at}: more than one key is marked Current";
    }

    private static KeyRing Build(IReadOnlyList<TokenSigningKey> configured, IReadOnlyList<TokenSigningKey> file, out List<string> errors)
    {
        errors = Problems(configured, "Router:Tokens:SigningKeys").Concat(Problems(file, "Router:Tokens:SigningKeys")).ToList();
        var all = configured.Concat(file).ToList();
        foreach (var kid in configured.Select(k => k.Kid).Intersect(file.Select(k => k.Kid), StringComparer.Ordinal))
            errors.Add($"Router:Tokens:SigningKeys: Kid '{kid}' is both in the configuration and in the keys file");
        var current = all.Where(k => k.Current).ToList();
        if (current.Count > 1 && errors.Count == 0) errors.Add("Router:Tokens:SigningKeys: more than one key is marked Current");
        if (current.Count == 0 && all.Count > 1) errors.Add("Router:Tokens:SigningKeys: mark the key that signs new tokens with Current: true");
        if (errors.Count > 0) return new KeyRing(new Dictionary<string, SymmetricSecurityKey>(), null);
        var keys = all.ToDictionary(k => k.Kid, k => new SymmetricSecurityKey(KeyBytes(k.Key)) { KeyId = k.Kid }, StringComparer.Ordinal);
        var signing = all.Count == 0 ? null : keys[(current.Count == 1 ? current[0] : all[0]).Kid];
        return new KeyRing(keys, signing);
    }

    private static byte[]? KeyBytes(string? base64)
    {
        if (string.IsNullOrWhiteSpace(base64)) return null;
        try { return Convert.FromBase64String(base64.Trim()); }
        catch (FormatException) { return null; }
    }

    private static bool IsValidKid([NotNullWhen(true)] string? kid) =>
        kid is { Length: > 0 and <= 64 } && kid.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private static string Truncate(string? text) => text is null ? string.Empty : text.Length <= 16 ? text : text[..16] + "…";

    /// <summary>The keys that validate (by kid) and the one that signs (null: tokens are off).</summary>
    private sealed record KeyRing(IReadOnlyDictionary<string, SymmetricSecurityKey> Keys, SymmetricSecurityKey? Signing);
}

/// <summary>
/// Viewer token counters on the shared <see cref="Router.Actors.Metrics.RouterMeter.Meter"/>: <c>router.tokens.minted</c>
/// (tag <c>tenant</c>) and <c>router.tokens.refused</c> (tokens refused by validation; tag <c>reason</c>:
/// <c>expired</c>, <c>signature</c>, <c>unknown_key</c>, <c>malformed</c>, <c>too_large</c>, <c>claims</c>,
/// <c>disabled</c>, <c>other</c>; no tenant, as a refused token's tenant is not trusted).
/// </summary>
internal static class ViewerTokenMetrics
{
    private static readonly System.Diagnostics.Metrics.Counter<long> MintedCounter =
        Router.Actors.Metrics.RouterMeter.Meter.CreateCounter<long>("router.tokens.minted", "{token}", "viewer tokens minted (POST /v1/tokens)");

    private static readonly System.Diagnostics.Metrics.Counter<long> RefusedCounter =
        Router.Actors.Metrics.RouterMeter.Meter.CreateCounter<long>("router.tokens.refused", "{token}", "viewer tokens refused by validation, by reason");

    /// <summary>Counts one token minted for <paramref name="tenant"/>.</summary>
    public static void Minted(string tenant) => MintedCounter.Add(1, new KeyValuePair<string, object?>("tenant", tenant));

    /// <summary>Counts one refused token, with the bounded reason of its <paramref name="error"/>.</summary>
    public static void Refused(string error) => RefusedCounter.Add(1, new KeyValuePair<string, object?>("reason", Reason(error)));

    internal static string Reason(string error) => error switch
    {
        "token expired" or "token not valid yet" => "expired",
        "token signature invalid" or "token algorithm must be HS256" => "signature",
        _ when error.StartsWith("token signing key unknown", StringComparison.Ordinal) => "unknown_key",
        "token malformed" or "token missing" or "token has no expiry" => "malformed",
        _ when error.StartsWith("token over ", StringComparison.Ordinal) => "too_large",
        _ when error.StartsWith("token has ", StringComparison.Ordinal) || error.StartsWith("token scope", StringComparison.Ordinal) => "claims",
        "token issuer invalid" or "token audience invalid" => "claims",
        "viewer tokens are not enabled on this gateway" => "disabled",
        _ => "other",
    };
}
