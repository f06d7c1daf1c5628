using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Router.Protocol;

namespace Router.Cli.Commands;

/// <summary>
/// <c>router token --url … --key … [--source id]… [--camera id]… [--ttl 10m]</c>: asks a gateway for a viewer token
/// (<c>POST /v1/tokens</c> with the API key) and prints it on stdout, alone on its line, so a script can hand it to a
/// browser (<c>/#token=…</c>); its expiry goes to stderr. Exit 0, 3 when the key is refused (401/403), 1 otherwise.
/// </summary>
internal sealed class TokenCommand
{
    /// <summary>Defines the command, its options and its action.</summary>
    public TokenCommand()
    {
        Url.CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
            if (CliUrls.TryNormalizeHttpBaseUrl(text, out var url, out var error)) return url;
            result.AddError(error!);
            return null;
        };
        Ttl.CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
            if (TryParseDuration(text, out var ttl)) return ttl;
            result.AddError($"--ttl: '{text}' is not a duration such as 90s, 10m, 1h or 1d (at most 24 h)");
            return null;
        };
        Source.Validators.Add(r =>
        {
            foreach (var id in r.GetValueOrDefault<string[]>() ?? [])
                if (!Identifiers.IsValidSourceId(id, out var error)) r.AddError($"--source: {error}");
        });
        Camera.Validators.Add(r =>
        {
            foreach (var id in r.GetValueOrDefault<string[]>() ?? [])
                if (!Identifiers.IsValidCameraId(id, out var error)) r.AddError($"--camera: {error}");
        });
        Command = new Command("token", "Print a short-lived viewer token (POST /v1/tokens) for a browser: view only, the key's tenant, optionally some sources and cameras.")
        {
            Url, Key, Source, Camera, Ttl,
        };
        CommonOptions.RequireApiKey(Command, Key);
        Command.SetAction((parse, ct) => RunAsync(parse, ct));
    }

    /// <summary>The <c>token</c> command.</summary>
    public Command Command { get; }

    /// <summary><c>--url</c>: the gateway's base URL (<c>http(s)://</c>, or <c>ws(s)://</c> as for the other commands).</summary>
    public Option<Uri> Url { get; } = new("--url") { Description = "Gateway base URL, e.g. http://localhost:8080", Required = true, HelpName = "url" };

    /// <summary><c>--key</c>: an API key with the view scope.</summary>
    public Option<string> Key { get; } = CommonOptions.ApiKey();

    /// <summary><c>--source</c>, repeatable.</summary>
    public Option<string[]> Source { get; } = new("--source")
    {
        Description = "source_id the token allows; repeat for several (default: every source of the tenant)",
        HelpName = "source_id",
    };

    /// <summary><c>--camera</c>, repeatable.</summary>
    public Option<string[]> Camera { get; } = new("--camera")
    {
        Description = "camera_id the token allows; repeat for several (default: every camera)",
        HelpName = "camera_id",
    };

    /// <summary><c>--ttl</c>: lifetime, e.g. <c>10m</c>.</summary>
    public Option<TimeSpan?> Ttl { get; } = new("--ttl") { Description = "Lifetime: 90s, 10m, 1h, 1d (default: the gateway's, 1 h; at most 24 h)", HelpName = "duration" };

    /// <summary>Parses <c>N</c> (seconds) or <c>N</c> followed by <c>s</c>, <c>m</c>, <c>h</c> or <c>d</c>; whole seconds, 1 s to 24 h.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        text = text.Trim();
        if (text.Length == 0) return false;
        var unit = char.IsAsciiLetter(text[^1]) ? char.ToLowerInvariant(text[^1]) : 's';
        var number = char.IsAsciiLetter(text[^1]) ? text[..^1] : text;
        if (!long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var value)) return false;
        long? seconds = unit switch
        {
            's' => value,
            'm' => value * 60,
            'h' => value * 3600,
            'd' => value * 86400,
            _ => null,
        };
        if (seconds is not (>= 1 and <= 86400) || value > 86400) return false;
        duration = TimeSpan.FromSeconds(seconds.Value);
        return true;
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken ct)
    {
        var output = parse.InvocationConfiguration.Output;
        var error = parse.InvocationConfiguration.Error;
        var baseUrl = parse.GetRequiredValue(Url);
        var key = CommonOptions.ResolveApiKey(parse.GetValue(Key))!;
        var body = new Dictionary<string, object>();
        if (parse.GetValue(Source) is { Length: > 0 } sources) body["source_ids"] = sources.Distinct().ToArray();
        if (parse.GetValue(Camera) is { Length: > 0 } cameras) body["camera_ids"] = cameras.Distinct().ToArray();
        if (parse.GetValue(Ttl) is { } ttl) body["ttl_seconds"] = (long)ttl.TotalSeconds;
        var endpoint = new Uri(baseUrl.AbsoluteUri.TrimEnd('/') + "/v1/tokens");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        try
        {
            using var response = await http.SendAsync(request, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode)
            {
                error.WriteLine($"token: HTTP {(int)response.StatusCode}: {ErrorOf(text)}");
                return response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ? ExitCodes.Unauthorized : ExitCodes.Failure;
            }
            using var json = JsonDocument.Parse(text);
            var token = json.RootElement.GetProperty("token").GetString();
            var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(json.RootElement.GetProperty("expires_at").GetInt64());
            output.WriteLine(token);
            error.WriteLine($"token: expires {expiresAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC; open {baseUrl.AbsoluteUri.TrimEnd('/')}/#token=<token>");
            return ExitCodes.Ok;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            error.WriteLine($"token: {endpoint}: {e.Message}");
            return ExitCodes.Failure;
        }
    }

    private static string ErrorOf(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String)
                return e.GetString()!;
        }
        catch (JsonException) { }
        return body.Length > 200 ? body[..200] : body;
    }
}
