using System.Text.Json;

namespace Router.Protocol;

/// <summary>One device message after parsing: a frame, an error for the device, or neither (heartbeat, unknown type).</summary>
/// <param name="CameraId">The camera_id as sent (not yet validated by <see cref="Identifiers"/>); null or empty means the
/// default camera (<see cref="Identifiers.DefaultCameraId"/>).</param>
/// <param name="Jpeg">The JPEG bytes (not yet validated, see <see cref="JpegHeader"/>), or null when the message is not a frame.</param>
/// <param name="TimestampMs">Capture time, Unix epoch ms; 0 or less means "now".</param>
/// <param name="Error">The error reply for the device (one sentence), or null.</param>
public readonly record struct ParsedFrame(string? CameraId, byte[]? Jpeg, long TimestampMs, string? Error)
{
    /// <summary>A raw frame (message type <c>0x02</c>, <see cref="RawFrameCodec"/>) to be encoded to JPEG, or null; <see cref="Jpeg"/> is null then.</summary>
    public RawFrame? Raw { get; init; }

    /// <summary>
    /// True when <see cref="Error"/> is a raw frame whose header was valid but whose pixels are not exactly as long as
    /// its layout needs (counted as <c>length</c>, not <c>malformed</c>, in the raw ingest metrics).
    /// </summary>
    public bool RawLengthMismatch { get; init; }
}

/// <summary>
/// The fields of a device's first message, <c>{"type":"device_auth","api_key","source_id","platform"}</c> (Plexus guide
/// "Stream video end-to-end", ../shared/seeds/000_3292601d757eb650.txt); every field is null when absent, not a string,
/// or malformed. The source_id is not yet validated (see <see cref="Identifiers.IsValidSourceId"/>).
/// </summary>
/// <param name="Type">The <c>type</c> field; <c>device_auth</c> for a valid auth message.</param>
/// <param name="ApiKey">The <c>api_key</c> field.</param>
/// <param name="SourceId">The <c>source_id</c> field.</param>
/// <param name="Platform">The optional <c>platform</c> field (free text, for logs).</param>
public readonly record struct DeviceAuthMessage(string? Type, string? ApiKey, string? SourceId, string? Platform);

/// <summary>
/// Parses what a device sends on <c>/ws/device</c>: the <c>device_auth</c> text message, binary frames
/// (<see cref="BinaryFrameCodec"/>) and JSON <c>video_frame</c> text messages. Never throws: any input, however
/// malformed (bad JSON, invalid UTF-8, lone-surrogate escapes such as <c>"\ud800"</c>, wrong types, deep nesting, numbers
/// out of range, base64 garbage), gives an error result (or, for auth, empty fields) that the endpoint answers as documented.
/// </summary>
public static class DeviceMessageParser
{
    /// <summary>JSON <c>timestamp</c> values below this are seconds (SDKs that send a float of seconds).</summary>
    public const double SecondsBelow = 100_000_000_000;

    /// <summary>Reads the auth message's fields; all null when the text is not a JSON object.</summary>
    public static DeviceAuthMessage ParseAuth(ReadOnlySpan<byte> message)
    {
        try
        {
            var reader = new Utf8JsonReader(message);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !OnlyWhiteSpaceAfter(message, reader.BytesConsumed)) return default;
            return new DeviceAuthMessage(StringOrNull(root, "type"), StringOrNull(root, "api_key"), StringOrNull(root, "source_id"),
                StringOrNull(root, "platform"));
        }
        catch (JsonException)
        {
            return default;
        }
    }

    /// <summary>
    /// Parses a binary frame message: a JPEG frame (<see cref="BinaryFrameCodec"/>, type <c>0x01</c>) or a raw frame
    /// (<see cref="RawFrameCodec"/>, type <c>0x02</c>, in <see cref="ParsedFrame.Raw"/>); the JPEG or pixel bytes are
    /// copied into a new array. Any other type is an error.
    /// </summary>
    public static ParsedFrame ParseBinary(ReadOnlySpan<byte> message)
    {
        if (message.Length > 0 && message[0] == RawFrameCodec.FrameType)
        {
            if (!RawFrameCodec.TryDecode(message, out var rawCamera, out var layout, out var rawTs, out var pixels, out var rawError))
                return Error(rawError!) with { RawLengthMismatch = layout.ByteCount > 0 }; // a layout only when the length alone was wrong
            return new ParsedFrame(rawCamera, null, rawTs, null) { Raw = new RawFrame(layout, message[pixels..].ToArray()) };
        }
        if (message.Length == 0 || message[0] != BinaryFrameCodec.FrameType)
            return Error("binary message type must be 0x01 (JPEG video frame) or 0x02 (raw video frame)");
        if (!BinaryFrameCodec.TryDecode(message, out var header, out var offset, out var error))
            return new ParsedFrame(null, null, 0, error);
        return new ParsedFrame(header.CameraId, message[offset..].ToArray(), header.TimestampMs, null);
    }

    /// <summary>Parses a JSON text message: a <c>video_frame</c>, or anything else (ignored: no frame, no error).</summary>
    public static ParsedFrame ParseText(ReadOnlySpan<byte> message)
    {
        try
        {
            var reader = new Utf8JsonReader(message);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || StringOrNull(root, "type") != "video_frame") return new ParsedFrame(null, null, 0, null);
            if (!root.TryGetProperty("frame", out var frame) || frame.ValueKind != JsonValueKind.String || !TryGetBase64(frame, out var jpeg))
                return Error("video_frame needs \"frame\": a base64 JPEG");
            string? cameraId = null;
            if (root.TryGetProperty("camera_id", out var camera) && camera.ValueKind != JsonValueKind.Null)
            {
                cameraId = camera.ValueKind == JsonValueKind.String ? TryGetString(camera) : null;
                if (cameraId is null) return Error("camera_id must be a string of valid UTF-8");
            }
            long timestamp = 0;
            if (root.TryGetProperty("timestamp", out var t) && t.ValueKind == JsonValueKind.Number && !TryReadTimestamp(t, out timestamp))
                return Error("timestamp must be Unix epoch milliseconds (or seconds, below 100000000000)");
            return new ParsedFrame(cameraId, jpeg, timestamp, null);
        }
        catch (JsonException)
        {
            return Error("text message is not valid JSON");
        }
    }

    /// <summary>
    /// A JSON <c>timestamp</c>: milliseconds, or seconds (a float is allowed) when below <see cref="SecondsBelow"/>;
    /// 0 or negative means now. False when it is out of the range of a long millisecond count.
    /// </summary>
    private static bool TryReadTimestamp(JsonElement t, out long timestampMs)
    {
        timestampMs = 0;
        if (t.TryGetInt64(out var integer))
        {
            timestampMs = integer is > 0 and < (long)SecondsBelow ? integer * 1000 : integer;
            return true;
        }
        if (!t.TryGetDouble(out var value) || !double.IsFinite(value)) return false;
        if (value <= 0) return true; // now
        if (value < SecondsBelow)
        {
            timestampMs = (long)Math.Round(value * 1000);
            return true;
        }
        if (value >= 9.2e18) return false; // beyond long
        timestampMs = (long)value;
        return true;
    }

    private static ParsedFrame Error(string message) => new(null, null, 0, message);

    /// <summary>True when nothing but JSON white space follows the first value (auth messages are one JSON object).</summary>
    internal static bool OnlyWhiteSpaceAfter(ReadOnlySpan<byte> message, long consumed) =>
        message[(int)consumed..].TrimStart(" \t\r\n"u8).IsEmpty;

    private static string? StringOrNull(JsonElement element, string name) =>
        element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? TryGetString(v) : null;

    /// <summary>The string, or null when its escapes do not form valid UTF-16 or its bytes are not valid UTF-8.</summary>
    private static string? TryGetString(JsonElement value)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static bool TryGetBase64(JsonElement value, out byte[] bytes)
    {
        try
        {
            return value.TryGetBytesFromBase64(out bytes!);
        }
        catch (InvalidOperationException)
        {
            bytes = [];
            return false;
        }
    }
}
