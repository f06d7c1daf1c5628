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
/// <param name="Viewers">Viewers per camera summed over every gateway process (see <see cref="WatchingCamera"/>); cameras
/// without viewers are absent.</param>
public sealed record OnlineCameras(IReadOnlyList<CameraStatus> Cameras, IReadOnlyDictionary<StreamKey, int>? Viewers = null)
    : INoSerializationVerificationNeeded
{
    /// <summary>Consumer connections watching <paramref name="key"/>, over every gateway process.</summary>
    public int ViewersOf(StreamKey key) => Viewers is not null && Viewers.TryGetValue(key, out var n) ? n : 0;
}

/// <summary>
/// Sent by a consumer connection's subscriber actor to its process's directory for each camera it watches. The
/// directory counts <paramref name="Viewer"/> as one viewer of the camera until the viewer stops, and shares its counts
/// with every other directory (<see cref="ViewerCounts"/>).
/// </summary>
internal sealed record WatchingCamera(StreamKey Key, IActorRef Viewer) : INoSerializationVerificationNeeded;

/// <summary>One camera's viewer count in <see cref="ViewerCounts"/>.</summary>
internal readonly record struct ViewerCount(StreamKey Key, int Viewers);

/// <summary>
/// The viewers per camera of one process (its directory's <see cref="WatchingCamera"/> registrations), published about
/// once a second to every directory while it has viewers, and once more when it has none left. A directory forgets an
/// origin that has not published for <see cref="CameraDirectoryActor.ExpireAfter"/>.
/// </summary>
/// <param name="Origin">Unique id of the publishing directory (one per process start).</param>
/// <param name="Counts">Cameras with at least one viewer; empty when the origin has none.</param>
internal sealed record ViewerCounts(string Origin, IReadOnlyList<ViewerCount> Counts) : IRouterMessage, IDeadLetterSuppression;

/// <summary>
/// Ask the local directory to send <see cref="CameraCameOnline"/> to <paramref name="Watcher"/> for every camera of a
/// source that is online now or comes online later, until the watcher stops.
/// </summary>
internal sealed record WatchSourceCameras(string Tenant, string SourceId, IActorRef Watcher) : INoSerializationVerificationNeeded;

/// <summary>A camera of a watched source is online (see <see cref="WatchSourceCameras"/>).</summary>
internal sealed record CameraCameOnline(StreamKey Key) : INoSerializationVerificationNeeded;
