using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Router.Cli;

/// <summary>One whole WebSocket message (or the close), as returned by <see cref="WebSocketIO.ReceiveAsync"/>.</summary>
/// <param name="Type">Text, Binary or Close.</param>
/// <param name="Data">The payload (empty for Close).</param>
internal sealed record WebSocketMessage(WebSocketMessageType Type, ReadOnlyMemory<byte> Data)
{
    /// <summary>The payload as UTF-8 text.</summary>
    public string Text => Encoding.UTF8.GetString(Data.Span);
}

/// <summary>Small helpers over <see cref="WebSocket"/> for whole-message receive and JSON text send.</summary>
internal static class WebSocketIO
{
    /// <summary>Receives one whole message, assembling fragments.</summary>
    /// <exception cref="WebSocketException">The connection failed, or the message is larger than <paramref name="maxBytes"/>.</exception>
    public static async Task<WebSocketMessage> ReceiveAsync(WebSocket socket, int maxBytes, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.GetMemory(16 * 1024), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
                return new WebSocketMessage(WebSocketMessageType.Close, ReadOnlyMemory<byte>.Empty);
            buffer.Advance(result.Count);
            if (buffer.WrittenCount > maxBytes)
                throw new WebSocketException(WebSocketError.Faulted, $"message larger than {maxBytes} bytes");
            if (result.EndOfMessage) return new WebSocketMessage(result.MessageType, buffer.WrittenMemory);
        }
    }

    /// <summary>Sends one UTF-8 text message (a JSON message built by <see cref="Router.Protocol.PlexusJson"/>).</summary>
    public static Task SendTextAsync(WebSocket socket, byte[] utf8, CancellationToken cancellationToken) =>
        socket.SendAsync(utf8.AsMemory(), WebSocketMessageType.Text, true, cancellationToken).AsTask();

    /// <summary>Reads <c>"type"</c> and <c>"message"</c> of a JSON text message; nulls when absent or not JSON.</summary>
    public static (string? Type, string? Message) ReadTypeAndMessage(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (null, null);
            return (GetString(root, "type"), GetString(root, "message"));
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }

    /// <summary>Reads a string property, null when missing or not a string.</summary>
    public static string? GetString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>Completes or starts the closing handshake without throwing; bounded by <paramref name="timeout"/>.</summary>
    public static async Task CloseQuietlyAsync(WebSocket socket, WebSocketCloseStatus status, string reason, TimeSpan timeout)
    {
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived)) return;
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await socket.CloseOutputAsync(status, reason, cts.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Best effort.
        }
    }
}
