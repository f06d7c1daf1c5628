using Akka.Cluster.Sharding;
using Router.Actors.Messages;

namespace Router.Actors.Camera;

/// <summary>
/// Routes <see cref="ICameraCommand"/>s to camera entities: entity id <c>{tenant}/{source_id}/{camera_id}</c>,
/// shard = murmur hash of the entity id modulo <see cref="ShardCount"/>.
/// </summary>
internal sealed class CameraMessageExtractor : HashCodeMessageExtractor
{
    /// <summary>Number of shards. Never change it on a running cluster: it decides where every camera lives.</summary>
    public const int ShardCount = 100;

    /// <summary>Creates the extractor with <see cref="ShardCount"/> shards.</summary>
    public CameraMessageExtractor() : base(ShardCount)
    {
    }

    /// <inheritdoc />
    public override string? EntityId(object message) => (message as ICameraCommand)?.Key.EntityId;
}
