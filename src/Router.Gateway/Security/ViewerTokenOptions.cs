using Microsoft.Extensions.Options;

namespace Router.Gateway.Security;

/// <summary>
/// One key that signs and validates viewer tokens (configuration <c>Router:Tokens:SigningKeys:N</c>, or the keys file).
/// Every gateway must have the same keys, so that any gateway validates any token.
/// </summary>
public sealed class TokenSigningKey
{
    /// <summary>Key id, written into each token's header (<c>kid</c>): 1–64 characters of <c>A-Z a-z 0-9 . _ -</c>.</summary>
    public string Kid { get; set; } = string.Empty;

    /// <summary>The HMAC-SHA256 secret in standard base64: at least 32 bytes (256 bits), at most 1024 bytes.</summary>
    public string Key { get; set; } = string.Empty;

    /// <summary>
    /// True for the one key that signs new tokens; the others only validate (a key being rotated in or out). May be
    /// left out when there is a single key.
    /// </summary>
    public bool Current { get; set; }
}

/// <summary>Viewer token settings (configuration section <c>Router:Tokens</c>).</summary>
public sealed class ViewerTokenOptions
{
    /// <summary>
    /// Signing keys. Empty: <c>POST /v1/tokens</c> answers 503 and no token is accepted (standalone mode adds a random
    /// key of its own). Keys from the keys file (<see cref="ApiKeyOptions.ApiKeysFile"/>) are added to these.
    /// </summary>
    public List<TokenSigningKey> SigningKeys { get; set; } = [];

    /// <summary>Lifetime of a token whose request names no <c>ttl_seconds</c>. Default 1 h.</summary>
    public TimeSpan DefaultTtl { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Longest lifetime a request may ask for. Default 24 h; at most 7 days.</summary>
    public TimeSpan MaxTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Clock difference between gateways tolerated when checking a token's expiry. Default 30 s; at most 5 min.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Validates <see cref="ViewerTokenOptions"/> when the host starts (<c>ValidateOnStart</c>).</summary>
internal sealed class ViewerTokenOptionsValidator : IValidateOptions<ViewerTokenOptions>
{
    public ValidateOptionsResult Validate(string? name, ViewerTokenOptions options)
    {
        var errors = ViewerTokens.Problems(options.SigningKeys, "Router:Tokens:SigningKeys").ToList();
        if (options.DefaultTtl <= TimeSpan.Zero || options.DefaultTtl > options.MaxTtl)
            errors.Add($"Router:Tokens:DefaultTtl must be above zero and at most MaxTtl ({options.MaxTtl}) (got {options.DefaultTtl})");
        if (options.MaxTtl <= TimeSpan.Zero || options.MaxTtl > TimeSpan.FromDays(7))
            errors.Add($"Router:Tokens:MaxTtl must be above zero and at most 7.00:00:00 (got {options.MaxTtl})");
        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > TimeSpan.FromMinutes(5))
            errors.Add($"Router:Tokens:ClockSkew must be within 00:00:00–00:05:00 (got {options.ClockSkew})");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
