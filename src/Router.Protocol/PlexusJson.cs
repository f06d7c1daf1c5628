using System.Text.Json;

namespace Router.Actors.Protocol;

/// <summary>
/// The JSON text messages of the Plexus WebSocket APIs (device ingest and consumer stream), as documented in the
/// Plexus "Stream video end-to-end" guide. Property names are the wire names (snake_case).
/// </summary>
public static class PlexusJson
{
    /// <summary>Consumer close code: auth missing, late, or invalid (Plexus).</summary>
    public const int CloseUnauthorized = 4001;

    /// <summary>Consumer close code: the requested <c>timeout</c> elapsed (Plexus).</summary>
    public const int CloseStreamTimeout = 4008;

    /// <summary>
    /// Builds the UTF-8 text of a consumer <c>video_frame</c> message:
    /// <c>{"type":"video_frame","source_id","camera_id","frame":&lt;base64 JPEG&gt;,"width","height","timestamp"}</c>.
    /// </summary>
    /// <returns>UTF-8 JSON bytes, about 4/3 of the JPEG size plus ~120 bytes.</returns>
    public static byte[] BuildVideoFrame(string sourceId, string cameraId, ReadOnlySpan<byte> jpeg, int width, int height, long timestampMs)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(((jpeg.Length + 2) / 3 * 4) + 160 + sourceId.Length + cameraId.Length);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("type", "video_frame");
            w.WriteString("source_id", sourceId);
            w.WriteString("camera_id", cameraId);
            w.WriteBase64String("frame", jpeg);
            w.WriteNumber("width", width);
            w.WriteNumber("height", height);
            w.WriteNumber("timestamp", timestampMs);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
