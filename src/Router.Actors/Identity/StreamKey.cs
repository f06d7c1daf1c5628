namespace Router.Actors.Identity;

/// <summary>
/// The identity of one live stream: (tenant, source_id, camera_id), each valid by the rules of
/// <see cref="Router.Protocol.Identifiers"/>. Every stream of Router is tenant-scoped;
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

    /// <summary>The hash, computed on first use (0: not yet; a key whose hash is 0 computes it each time).</summary>
    private int _hash;

    /// <summary>The copy a <c>with</c> expression starts from: the parts, not the cached hash (<c>with</c> may change a part).</summary>
    private StreamKey(StreamKey original)
    {
        Tenant = original.Tenant;
        SourceId = original.SourceId;
        CameraId = original.CameraId;
    }

    /// <summary>
    /// Equal when tenant, source_id and camera_id are (ordinal). A key is looked up once per frame and consumer on the
    /// fan-out path, so the hash is kept and compared before the strings.
    /// </summary>
    public bool Equals(StreamKey? other) =>
        ReferenceEquals(this, other)
        || (other is not null && GetHashCode() == other.GetHashCode()
            && string.Equals(CameraId, other.CameraId) && string.Equals(SourceId, other.SourceId) && string.Equals(Tenant, other.Tenant));

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = _hash;
        if (hash == 0) _hash = hash = HashCode.Combine(Tenant, SourceId, CameraId);
        return hash;
    }

    /// <inheritdoc />
    public override string ToString() => EntityId;
}
