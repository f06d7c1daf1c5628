using System.Text.Json;

namespace Router.Protocol;

/// <summary>
/// Parses what a consumer sends on the consumer WebSocket: its first message, <c>{"type":"auth","api_key":…}</c>
/// (Plexus guide "Stream video end-to-end", ../shared/seeds/000_3292601d757eb650.txt: the auth frame must be the
/// first frame; the server closes with <see cref="PlexusJson.CloseUnauthorized"/> otherwise). Never throws.
/// </summary>
public static class ConsumerMessageParser
{
    /// <summary>The <c>api_key</c> of an <c>{"type":"auth","api_key":…}</c> message (one JSON object, white space around it allowed).</summary>
    /// <returns>The key; null when the message is anything else: bad JSON, invalid UTF-8, lone-surrogate escapes, wrong types, trailing data.</returns>
    public static string? ParseAuth(ReadOnlySpan<byte> message) => ReadAuthString(message, "api_key", without: null);

    /// <summary>
    /// The <c>token</c> (a viewer token) of an <c>{"type":"auth","token":…}</c> message without an <c>api_key</c>; null
    /// when the message has an <c>api_key</c> or is anything else (the same rules as <see cref="ParseAuth"/>).
    /// </summary>
    public static string? ParseAuthToken(ReadOnlySpan<byte> message) => ReadAuthString(message, "token", without: "api_key");

    private static string? ReadAuthString(ReadOnlySpan<byte> message, string name, string? without)
    {
        try
        {
            var reader = new Utf8JsonReader(message);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !DeviceMessageParser.OnlyWhiteSpaceAfter(message, reader.BytesConsumed) ||
                !root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || !type.ValueEquals("auth") ||
                (without is not null && root.TryGetProperty(without, out _)) ||
                !root.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String)
                return null;
            return value.GetString();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: GetString of a string whose escapes are not valid UTF-16 (e.g. "\ud800").
            return null;
        }
    }
}
