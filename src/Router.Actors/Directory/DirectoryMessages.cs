using Akka.Actor;
using Akka.Event;
using Router.Actors.Identity;
using Router.Actors.Messages;

namespace Router.Actors.Directory;

/// <summary>Sent by a camera entity to its node's directory, which publishes the status to every node.</summary>
internal sealed record PublishCameraStatus(CameraStatus Status) : INoSerializationVerificationNeeded;

/// <summary>Ask the local directory for a tenant's online cameras (optionally of one source); replies <see cref="OnlineCameras"/>.</summary>
public sealed record GetOnlineCameras(string Tenant, string? SourceId = null) : INoSerializationVerificationNeeded;

/// <summary>Reply to <see cref="GetOnlineCameras"/>, ordered by source_id then camera_id.</summary>
/// <param name="Cameras">The online cameras.</param>
/// <param name="Consumers">Consumers (consumer connections) per camera summed over every gateway process (see
/// <see cref="WatchingCamera"/>); cameras without consumers are absent.</param>
public sealed record OnlineCameras(IReadOnlyList<CameraStatus> Cameras, IReadOnlyDictionary<StreamKey, int>? Consumers = null)
    : INoSerializationVerificationNeeded
{
    /// <summary>Consumer connections watching <paramref name="key"/>, over every gateway process.</summary>
    public int ConsumersOf(StreamKey key) => Consumers is not null && Consumers.TryGetValue(key, out var n) ? n : 0;
}

/// <summary>
/// Sent by a consumer connection's actor to its process's directory for each camera it watches. The directory counts
/// <paramref name="Consumer"/> as one consumer of the camera until the actor stops, and shares its counts with every
/// other directory (<see cref="ConsumerCounts"/>).
/// </summary>
internal sealed record WatchingCamera(StreamKey Key, IActorRef Consumer) : INoSerializationVerificationNeeded;

/// <summary>One camera's consumer count in <see cref="ConsumerCounts"/>.</summary>
internal readonly record struct ConsumerCount(StreamKey Key, int Consumers);

/// <summary>
/// The consumers per camera of one process (its directory's <see cref="WatchingCamera"/> registrations), published about
/// once a second to every directory while it has consumers, and once more when it has none left. A directory forgets an
/// origin that has not published for <see cref="CameraDirectoryActor.ExpireAfter"/>.
/// </summary>
/// <param name="Origin">Unique id of the publishing directory (one per process start).</param>
/// <param name="Counts">Cameras with at least one consumer; empty when the origin has none.</param>
internal sealed record ConsumerCounts(string Origin, IReadOnlyList<ConsumerCount> Counts) : IRouterMessage, IDeadLetterSuppression;

/// <summary>
/// Ask the local directory to send <see cref="CameraCameOnline"/> to <paramref name="Watcher"/> for every camera of a
/// source that is online now or comes online later, until the watcher stops.
/// </summary>
internal sealed record WatchSourceCameras(string Tenant, string SourceId, IActorRef Watcher) : INoSerializationVerificationNeeded;

/// <summary>A camera of a watched source is online (see <see cref="WatchSourceCameras"/>).</summary>
internal sealed record CameraCameOnline(StreamKey Key) : INoSerializationVerificationNeeded;
