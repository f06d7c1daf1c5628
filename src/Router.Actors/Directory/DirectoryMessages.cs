using Akka.Actor;
using Router.Actors.Identity;
using Router.Actors.Messages;

namespace Router.Actors.Directory;

/// <summary>Sent by a camera entity to its node's directory, which publishes the status to every node.</summary>
public sealed record PublishCameraStatus(CameraStatus Status) : INoSerializationVerificationNeeded;

/// <summary>Ask the local directory for a tenant's online cameras (optionally of one source); replies <see cref="OnlineCameras"/>.</summary>
public sealed record GetOnlineCameras(string Tenant, string? SourceId = null) : INoSerializationVerificationNeeded;

/// <summary>Reply to <see cref="GetOnlineCameras"/>, ordered by source_id then camera_id.</summary>
public sealed record OnlineCameras(IReadOnlyList<CameraStatus> Cameras) : INoSerializationVerificationNeeded;

/// <summary>
/// Ask the local directory to send <see cref="CameraCameOnline"/> to <paramref name="Watcher"/> for every camera of a
/// source that is online now or comes online later, until the watcher stops.
/// </summary>
public sealed record WatchSourceCameras(string Tenant, string SourceId, IActorRef Watcher) : INoSerializationVerificationNeeded;

/// <summary>A camera of a watched source is online (see <see cref="WatchSourceCameras"/>).</summary>
public sealed record CameraCameOnline(StreamKey Key) : INoSerializationVerificationNeeded;
