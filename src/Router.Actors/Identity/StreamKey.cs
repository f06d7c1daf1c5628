using System.Text;
using System.Text.RegularExpressions;

namespace Router.Actors.Identity;

/// <summary>
/// The identity of one live stream: (tenant, source_id, camera_id). Every stream of Router is tenant-scoped;
/// the sharded entity id is <c>{tenant}/{source_id}/{camera_id}</c> (see <see cref="EntityId"/>).
/// </summary>
/// <param name="Tenant">Tenant name, as mapped from an API key (validated like a <c>source_id</c>).</param>
/// <param name="SourceId">The device or source, <c>^[a-z0-9][a-z0-9._-]*$</c>, at most 255 characters.</param>
/// <param name="CameraId">Camera of the source, 1–255 UTF-8 bytes, no control characters (may contain <c>/</c> and <c>:</c>).</param>
public sealed record StreamKey(string Tenant, string SourceId, string CameraId)
{
    /// <summary>The sharded entity id, <c>{tenant}/{source_id}/{camera_id}</c>.</summary>
    public string EntityId => $"{Tenant}/{SourceId}/{CameraId}";

    /// <summary>Parses an entity id made by <see cref="EntityId"/>; the camera_id is everything after the second <c>/</c>.</summary>
    /// <exception cref="FormatException">The id does not have three non-empty parts.</exception>
    public static StreamKey ParseEntityId(string entityId)
    {
        var first = entityId.IndexOf('/');
        var second = first < 0 ? -1 : entityId.IndexOf('/', first + 1);
        if (first <= 0 || second <= first + 1 || second == entityId.Length - 1)
            throw new FormatException($"'{entityId}' is not an entity id of the form tenant/source_id/camera_id");
        return new StreamKey(entityId[..first], entityId[(first + 1)..second], entityId[(second + 1)..]);
    }

    /// <inheritdoc />
    public override string ToString() => EntityId;
}

/// <summary>Validation of the identifiers that make up a <see cref="StreamKey"/>.</summary>
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

    /// <summary>True when <paramref name="cameraId"/> has 1–255 UTF-8 bytes and no control characters.</summary>
    public static bool IsValidCameraId(string? cameraId, out string? error)
    {
        if (string.IsNullOrEmpty(cameraId)) { error = "camera_id is required"; return false; }
        int bytes;
        try { bytes = new UTF8Encoding(false, true).GetByteCount(cameraId); }
        catch (EncoderFallbackException) { error = "camera_id is not valid UTF-8"; return false; }
        if (bytes > MaxCameraIdBytes) { error = $"camera_id is longer than {MaxCameraIdBytes} UTF-8 bytes"; return false; }
        foreach (var c in cameraId)
        {
            if (char.IsControl(c)) { error = "camera_id must not contain control characters"; return false; }
        }
        error = null;
        return true;
    }

    /// <summary>Tenants follow the source_id rule (they appear in entity ids, which use <c>/</c> as separator).</summary>
    public static bool IsValidTenant(string? tenant, out string? error)
    {
        if (!IsValidSourceId(tenant, out error)) { error = error?.Replace("source_id", "tenant"); return false; }
        return true;
    }
}
