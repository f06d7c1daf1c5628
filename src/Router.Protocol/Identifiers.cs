using System.Buffers;
using System.Text.Unicode;
using System.Text.RegularExpressions;

namespace Router.Protocol;

/// <summary>
/// The rules of Router's identifiers: source_id and tenant (<c>^[a-z0-9][a-z0-9._-]*$</c>, 1–255 characters) and
/// camera_id (1–255 UTF-8 bytes, no control characters). Both ids travel in the u8-length fields of the binary frame
/// (<see cref="BinaryFrameCodec"/>), hence the 255 limits; the default camera_id <c>camera:0</c> and the ids' roles
/// follow the Plexus guide "Stream video end-to-end" (../shared/seeds/000_3292601d757eb650.txt). Thread-safe; never throws.
/// </summary>
public static partial class Identifiers
{
    /// <summary>Default camera_id when a device does not name one (Plexus SDK default).</summary>
    public const string DefaultCameraId = "camera:0";

    /// <summary>
    /// Longest allowed source_id, in characters (source_ids are ASCII, so also in bytes): it must fit the u8 length
    /// field of the Plexus binary frame header, like the camera_id.
    /// </summary>
    public const int MaxSourceIdLength = 255;

    /// <summary>Longest allowed camera_id, in UTF-8 bytes (it must fit the u8 length field of the binary frame header).</summary>
    public const int MaxCameraIdBytes = 255;

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex SourceIdPattern();

    /// <summary>True when <paramref name="sourceId"/> matches <c>^[a-z0-9][a-z0-9._-]*$</c> and has at most 255 characters.</summary>
    public static bool IsValidSourceId(string? sourceId, out string? error)
    {
        if (string.IsNullOrEmpty(sourceId)) { error = "source_id is required"; return false; }
        if (sourceId.Length > MaxSourceIdLength) { error = $"source_id is longer than {MaxSourceIdLength} characters (the u8 length of the binary frame header)"; return false; }
        if (!SourceIdPattern().IsMatch(sourceId)) { error = "source_id must match ^[a-z0-9][a-z0-9._-]*$"; return false; }
        error = null;
        return true;
    }

    private static readonly string CameraIdTooLong = $"camera_id is longer than {MaxCameraIdBytes} UTF-8 bytes";

    /// <summary>True when <paramref name="cameraId"/> has 1–255 UTF-8 bytes and no control characters.</summary>
    public static bool IsValidCameraId(string? cameraId, out string? error)
    {
        if (string.IsNullOrEmpty(cameraId)) { error = "camera_id is required"; return false; }
        // Every char is at least one UTF-8 byte, so a longer string is over the limit without encoding it. Otherwise
        // the UTF-8 form (at most 3 bytes a char) goes to the stack, with no replacement of lone surrogates: no
        // allocation and no exception per frame (this runs for every device frame).
        if (cameraId.Length > MaxCameraIdBytes) { error = CameraIdTooLong; return false; }
        Span<byte> utf8 = stackalloc byte[MaxCameraIdBytes * 3];
        if (Utf8.FromUtf16(cameraId, utf8, out _, out var bytes, replaceInvalidSequences: false) != OperationStatus.Done)
        {
            error = "camera_id is not valid UTF-8";
            return false;
        }
        if (bytes > MaxCameraIdBytes) { error = CameraIdTooLong; return false; }
        foreach (var c in cameraId)
        {
            if (char.IsControl(c)) { error = "camera_id must not contain control characters"; return false; }
        }
        error = null;
        return true;
    }

    /// <summary>Tenants follow the source_id rule (they appear in Router's sharded entity ids, which use <c>/</c> as separator).</summary>
    public static bool IsValidTenant(string? tenant, out string? error)
    {
        if (!IsValidSourceId(tenant, out error)) { error = error?.Replace("source_id", "tenant"); return false; }
        return true;
    }
}
