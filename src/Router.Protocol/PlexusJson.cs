using System.Text.Json;

namespace Router.Protocol;

/// <summary>
/// The JSON text messages of the Plexus WebSocket APIs (device ingest and consumer stream), as documented in the
/// Plexus "Stream video end-to-end" guide (../shared/seeds/000_3292601d757eb650.txt). Property names are the wire
/// names (snake_case). Every builder returns compact UTF-8 JSON (one text message) and is thread-safe.
/// </summary>
public static class PlexusJson
{
    /// <summary>Consumer close code: auth missing, late (after 10 s), or invalid (Plexus).</summary>
    public const int CloseUnauthorized = 4001;

    /// <summary>Consumer close code: the requested <c>timeout</c> (seconds) elapsed (Plexus).</summary>
    public const int CloseStreamTimeout = 4008;

    /// <summary>
    /// Consumer close code (Router's own, not Plexus): the tenant holds its quota of consumer connections over the
    /// cluster; the reason names the quota, e.g. <c>quota exceeded: consumer_connections of tenant acme (limit 3)</c>.
    /// </summary>
    public const int CloseQuotaExceeded = 4029;

    /// <summary>
    /// Builds the UTF-8 text of a consumer <c>video_frame</c> message:
    /// <c>{"type":"video_frame","source_id","camera_id","frame":&lt;base64 JPEG&gt;,"width","height","timestamp"}</c>.
    /// </summary>
    /// <param name="sourceId">source_id of the frame.</param>
    /// <param name="cameraId">camera_id of the frame.</param>
    /// <param name="jpeg">The JPEG bytes.</param>
    /// <param name="width">Width in pixels; 0 means unknown.</param>
    /// <param name="height">Height in pixels; 0 means unknown.</param>
    /// <param name="timestampMs">Capture time, Unix epoch milliseconds.</param>
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
            WriteFrameFields(w, jpeg, width, height, timestampMs);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Builds a device's first message, <c>{"type":"device_auth","api_key","source_id","platform","agent_version"}</c>;
    /// <paramref name="platform"/> and <paramref name="agentVersion"/> are left out when null.
    /// </summary>
    public static byte[] BuildDeviceAuth(string apiKey, string sourceId, string? platform = null, string? agentVersion = null) =>
        Build(w =>
        {
            w.WriteString("type", "device_auth");
            w.WriteString("api_key", apiKey);
            w.WriteString("source_id", sourceId);
            if (platform is not null) w.WriteString("platform", platform);
            if (agentVersion is not null) w.WriteString("agent_version", agentVersion);
        });

    /// <summary>Builds a consumer's first message, <c>{"type":"auth","api_key"}</c>.</summary>
    public static byte[] BuildConsumerAuth(string apiKey) =>
        Build(w =>
        {
            w.WriteString("type", "auth");
            w.WriteString("api_key", apiKey);
        });

    /// <summary>
    /// Builds the UTF-8 text of a device's <c>video_frame</c> message on <c>/ws/device</c>:
    /// <c>{"type":"video_frame","camera_id","frame":&lt;base64 JPEG&gt;,"width","height","timestamp"}</c> (the
    /// source_id is the authenticated one, so it is not repeated).
    /// </summary>
    /// <param name="cameraId">camera_id of the frame.</param>
    /// <param name="jpeg">The JPEG bytes.</param>
    /// <param name="width">Width in pixels; 0 means unknown.</param>
    /// <param name="height">Height in pixels; 0 means unknown.</param>
    /// <param name="timestampMs">Capture time, Unix epoch milliseconds.</param>
    /// <returns>UTF-8 JSON bytes, about 4/3 of the JPEG size plus ~100 bytes.</returns>
    public static byte[] BuildDeviceVideoFrame(string cameraId, ReadOnlySpan<byte> jpeg, int width, int height, long timestampMs)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(((jpeg.Length + 2) / 3 * 4) + 160 + cameraId.Length);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("type", "video_frame");
            w.WriteString("camera_id", cameraId);
            WriteFrameFields(w, jpeg, width, height, timestampMs);
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static ReadOnlySpan<byte> TimestampKey => "\"timestamp\":"u8;
    private static ReadOnlySpan<byte> VideoFramePrefix => "{\"type\":\"video_frame\""u8;

    /// <summary>
    /// Reads the <c>timestamp</c> of a consumer <c>video_frame</c> message as <see cref="BuildVideoFrame"/> writes it
    /// (type first, timestamp last) from its last 64 bytes, without parsing the base64 body: a measuring client's hot
    /// path. Not a general JSON parser: messages written in another property order give false.
    /// </summary>
    /// <param name="message">The UTF-8 text of one message.</param>
    /// <param name="timestampMs">The timestamp, Unix epoch milliseconds, when the result is true.</param>
    /// <returns>False for other messages (<c>init</c>, <c>error</c>) and for a missing or non-numeric timestamp.</returns>
    public static bool TryReadVideoFrameTimestamp(ReadOnlySpan<byte> message, out long timestampMs)
    {
        timestampMs = 0;
        if (!message.StartsWith(VideoFramePrefix)) return false;
        var tail = message[Math.Max(0, message.Length - 64)..];
        var at = tail.LastIndexOf(TimestampKey);
        if (at < 0) return false;
        var digits = tail[(at + TimestampKey.Length)..];
        long value = 0;
        var any = false;
        foreach (var b in digits)
        {
            if (b is >= (byte)'0' and <= (byte)'9') { value = value * 10 + (b - '0'); any = true; }
            else if (b == (byte)' ' && !any) continue;
            else break;
        }
        timestampMs = value;
        return any;
    }

    private static void WriteFrameFields(Utf8JsonWriter w, ReadOnlySpan<byte> jpeg, int width, int height, long timestampMs)
    {
        w.WriteBase64String("frame", jpeg);
        w.WriteNumber("width", width);
        w.WriteNumber("height", height);
        w.WriteNumber("timestamp", timestampMs);
        w.WriteEndObject();
    }

    private static byte[] Build(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
