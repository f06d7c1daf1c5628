using System.CommandLine.Parsing;
using System.Globalization;
using System.Text;

namespace Router.Cli.Commands;

/// <summary>Builds the WebSocket URLs of Router's Plexus-compatible endpoints from what the user typed.</summary>
internal static class CliUrls
{
    /// <summary>Path of the device ingest WebSocket.</summary>
    public const string DevicePath = "/ws/device";

    /// <summary>
    /// Parses a device URL: <c>ws://</c> or <c>wss://</c> (<c>http</c>/<c>https</c> are mapped to them); an empty path
    /// becomes <c>/ws/device</c>, any other path is kept.
    /// </summary>
    public static bool TryNormalizeDeviceUrl(string text, out Uri? url, out string? error)
    {
        if (!TryParseWebSocketBase(text, out var builder, out error)) { url = null; return false; }
        if (builder!.Path is "" or "/") builder.Path = DevicePath;
        url = builder.Uri;
        return true;
    }

    /// <summary>Parses a base URL (<c>ws://host:port</c>, optionally with a path prefix) for <c>router watch</c>.</summary>
    public static bool TryNormalizeBaseUrl(string text, out Uri? url, out string? error)
    {
        if (!TryParseWebSocketBase(text, out var builder, out error)) { url = null; return false; }
        builder!.Query = string.Empty;
        url = builder.Uri;
        return true;
    }

    /// <summary>Delegate of <see cref="TryNormalizeDeviceUrl"/> and <see cref="TryNormalizeBaseUrl"/>.</summary>
    public delegate bool UrlNormalizer(string text, out Uri? url, out string? error);

    /// <summary>
    /// Parses a repeatable, comma-separated <c>--url</c> option with <paramref name="normalize"/>; every bad URL is
    /// reported as a parse error, and at least one URL is required.
    /// </summary>
    public static Uri[] ParseUrlList(ArgumentResult result, UrlNormalizer normalize)
    {
        var urls = new List<Uri>();
        var valid = true;
        foreach (var token in result.Tokens)
        {
            foreach (var part in token.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (normalize(part, out var url, out var error)) urls.Add(url!);
                else
                {
                    result.AddError(error!);
                    valid = false;
                }
            }
        }
        if (urls.Count == 0 && valid) result.AddError("--url needs at least one ws:// or wss:// URL.");
        return [.. urls];
    }

    /// <summary>
    /// Parses a base URL for HTTP requests (<c>router token</c>): as <see cref="TryNormalizeBaseUrl"/>, then
    /// <c>ws</c>/<c>wss</c> become <c>http</c>/<c>https</c>.
    /// </summary>
    public static bool TryNormalizeHttpBaseUrl(string text, out Uri? url, out string? error)
    {
        url = null;
        if (!TryNormalizeBaseUrl(text, out var ws, out error)) return false;
        url = new UriBuilder(ws!) { Scheme = ws!.Scheme == "wss" ? "https" : "http", Port = ws.IsDefaultPort ? -1 : ws.Port }.Uri;
        return true;
    }

    /// <summary>
    /// The consumer stream URL:
    /// <c>{base}/v1/sources/{source_id}/video/stream?camera_id=a&amp;camera_id=b&amp;format=F[&amp;max_fps=N][&amp;timeout=S]</c>.
    /// </summary>
    public static Uri BuildStreamUrl(Uri baseUrl, string sourceId, IEnumerable<string> cameraIds, string format, double? maxFps, int? timeoutSeconds)
    {
        var builder = new UriBuilder(baseUrl);
        builder.Path = builder.Path.TrimEnd('/') + "/v1/sources/" + Uri.EscapeDataString(sourceId) + "/video/stream";
        var query = new StringBuilder();
        foreach (var camera in cameraIds)
            Append(query, "camera_id", camera);
        Append(query, "format", format);
        if (maxFps is { } fps) Append(query, "max_fps", fps.ToString(CultureInfo.InvariantCulture));
        if (timeoutSeconds is { } timeout) Append(query, "timeout", timeout.ToString(CultureInfo.InvariantCulture));
        builder.Query = query.ToString();
        return builder.Uri;
    }

    private static void Append(StringBuilder query, string name, string value)
    {
        if (query.Length > 0) query.Append('&');
        query.Append(name).Append('=').Append(Uri.EscapeDataString(value));
    }

    private static bool TryParseWebSocketBase(string text, out UriBuilder? builder, out string? error)
    {
        builder = null;
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            error = $"'{text}' is not an absolute URL (expected e.g. ws://localhost:8080)";
            return false;
        }
        var scheme = uri.Scheme switch
        {
            "ws" or "http" => "ws",
            "wss" or "https" => "wss",
            _ => null,
        };
        if (scheme is null)
        {
            error = $"'{text}' must be a ws:// or wss:// URL";
            return false;
        }
        builder = new UriBuilder(uri) { Scheme = scheme, Port = uri.IsDefaultPort ? -1 : uri.Port, Fragment = string.Empty };
        error = null;
        return true;
    }
}
