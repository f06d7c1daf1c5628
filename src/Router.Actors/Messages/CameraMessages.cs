using Akka.Actor;
using Akka.Event;
using Router.Actors.Identity;

namespace Router.Actors.Messages;

/// <summary>Why a frame was rejected.</summary>
public enum FrameRejectReason
{
    /// <summary>Not a JPEG, or a JPEG without a usable SOF header or EOI marker (HTTP 400).</summary>
    NotJpeg = 1,

    /// <summary>Larger than the hard limit (default 1,048,576 bytes) (HTTP 413).</summary>
    TooLarge = 2,

    /// <summary>The header parsed but the image could not be decoded for re-encoding (HTTP 400).</summary>
    Undecodable = 3,

    /// <summary>Older than the newest frame the camera already has; frames only move forward in time (HTTP 409).</summary>
    Stale = 4,

    /// <summary>
    /// Width × height from the SOF header is over <c>Router:Camera:SizePolicy:MaxPixels</c> (default 33,177,600, 8K UHD);
    /// checked before any decode (HTTP 413).
    /// </summary>
    TooManyPixels = 5,

    /// <summary>
    /// The frame needs re-encoding and the node's re-encoding slots and queue are full, or its sender's deadline passed
    /// while it waited (HTTP 503 with <c>Retry-After</c>).
    /// </summary>
    Busy = 6,

    /// <summary>
    /// The camera is not online and its tenant already has <c>Router:Quotas</c> MaxOnlineCameras cameras online in the
    /// cluster (HTTP 429 with <c>Retry-After</c>; device error <c>quota_exceeded</c>).
    /// </summary>
    OnlineCamerasQuota = 7,

    /// <summary>
    /// The frame would take its tenant over <c>Router:Quotas</c> MaxIngestBytesPerSecond over the cluster; refused by the
    /// gateway before it reaches the camera (HTTP 429 with <c>Retry-After</c>; device error <c>quota_exceeded</c>).
    /// </summary>
    IngestBytesQuota = 8,
}

/// <summary>
/// Ingest one JPEG frame into a camera entity. The entity validates it (SOI, SOF, EOI), reads width/height from
/// the SOF header, applies the size policy and replies <see cref="FrameAccepted"/> or <see cref="FrameRejected"/>.
/// </summary>
/// <param name="Key">Target stream.</param>
/// <param name="Jpeg">The frame as received (not yet validated).</param>
/// <param name="TimestampMs">Device capture time, Unix epoch ms; 0 or less means "now".</param>
/// <param name="Platform">The device's platform string (from <c>device_auth</c>), or null.</param>
public sealed record IngestFrame(StreamKey Key, byte[] Jpeg, long TimestampMs, string? Platform) : ICameraCommand
{
    /// <summary>
    /// How long the sender waits for the reply, in ms, counted from when the entity receives the message; 0 (default)
    /// means no deadline. A frame that must be re-encoded is skipped (rejected as <see cref="FrameRejectReason.Busy"/>)
    /// when this has passed before its decode starts.
    /// </summary>
    public long TimeoutMs { get; init; }
}

/// <summary>Reply to <see cref="IngestFrame"/>: the frame is now the camera's newest.</summary>
/// <param name="Width">Width in pixels after the size policy.</param>
/// <param name="Height">Height in pixels after the size policy.</param>
/// <param name="Bytes">JPEG size in bytes after the size policy.</param>
/// <param name="Reencoded">True when the size policy re-encoded the frame.</param>
public sealed record FrameAccepted(int Width, int Height, int Bytes, bool Reencoded) : IRouterMessage;

/// <summary>Reply to <see cref="IngestFrame"/>: the frame was not accepted.</summary>
public sealed record FrameRejected(FrameRejectReason Reason, string Message) : IRouterMessage;

/// <summary>
/// Subscribe <paramref name="Subscriber"/> to a camera. The entity's fan-out stream keeps per subscription one frame
/// in flight until the subscriber answers <see cref="StreamAck"/> (sent with the subscriber as sender: acks are matched
/// by sender, in order) and one pending frame, newest wins. The subscriber first receives <see cref="SubscriptionStarted"/> (which it must ack too),
/// then <see cref="VideoFrame"/>s in timestamp order; the latest frame comes at once when younger than 5 s.
/// </summary>
/// <param name="Key">The camera.</param>
/// <param name="SubscriptionId">Unique per subscriber and camera; used to unsubscribe and in the stream's signals.</param>
/// <param name="Subscriber">The actor that receives the frames; watched by the entity.</param>
/// <param name="MaxFps">Rate cap for this subscription in frames per second; 0 means no cap.</param>
internal sealed record Subscribe(StreamKey Key, string SubscriptionId, IActorRef Subscriber, double MaxFps) : ICameraCommand
{
    /// <summary>
    /// The smaller picture a consumer asked for, or null for the full-size frames. Read only by the gateway's relay
    /// (<see cref="Gateway.CameraRelayActor"/>), never sent over remoting (the relay's own upstream subscription has none).
    /// </summary>
    public Media.VariantSpec? Variant { get; init; }
}

/// <summary>End a subscription made with <see cref="Subscribe"/>; unknown ids are ignored.</summary>
internal sealed record Unsubscribe(StreamKey Key, string SubscriptionId) : ICameraCommand, IDeadLetterSuppression;

/// <summary>First signal of a subscription stream; the subscriber must reply <see cref="StreamAck"/> to its sender.</summary>
internal sealed record SubscriptionStarted(StreamKey Key, string SubscriptionId) : IRouterMessage;

/// <summary>The subscription stream ended normally (unsubscribed, or the entity stopped).</summary>
internal sealed record SubscriptionCompleted(StreamKey Key, string SubscriptionId) : IRouterMessage, IDeadLetterSuppression;

/// <summary>The subscription stream failed; <paramref name="Reason"/> is for logs.</summary>
internal sealed record SubscriptionFailed(StreamKey Key, string SubscriptionId, string Reason) : IRouterMessage, IDeadLetterSuppression;

/// <summary>Acknowledgement a subscriber sends to the stream stage for each signal and frame it has handled.</summary>
public sealed record StreamAck : IRouterMessage, IDeadLetterSuppression
{
    /// <summary>The one instance (equality is by type, so a deserialized copy is equal too).</summary>
    public static readonly StreamAck Instance = new();
}

/// <summary>Ask a camera entity for its state; replies <see cref="CameraStatus"/>.</summary>
internal sealed record GetCameraStatus(StreamKey Key) : ICameraCommand;

/// <summary>Ask a camera entity for its newest frame; replies <see cref="Snapshot"/>.</summary>
public sealed record GetSnapshot(StreamKey Key) : ICameraCommand;

/// <summary>Reply to <see cref="GetSnapshot"/>; <paramref name="Frame"/> is null when the camera has no frame yet.</summary>
public sealed record Snapshot(StreamKey Key, VideoFrame? Frame) : IRouterMessage;

/// <summary>
/// A camera's state, as published by its entity (about once a second while frames arrive) and kept by
/// the <see cref="Directory.CameraDirectoryActor"/> of every node.
/// </summary>
/// <param name="Key">The camera.</param>
/// <param name="Online">True while frames arrive (or, for a configured pull source, while it is registered).</param>
/// <param name="Platform">Device platform string, <c>pull</c> for pull sources, or empty.</param>
/// <param name="LastFrameMs">Device timestamp of the newest frame, Unix epoch ms; 0 when none.</param>
/// <param name="Fps">Measured ingest rate over the last few seconds, frames per second.</param>
/// <param name="Width">Width of the newest frame in pixels (0 when none).</param>
/// <param name="Height">Height of the newest frame in pixels (0 when none).</param>
/// <param name="Relays">Live subscriptions at the entity: the gateway relays (one per gateway process relaying the
/// camera) and any other direct subscriber.</param>
public sealed record CameraStatus(StreamKey Key, bool Online, string Platform, long LastFrameMs, double Fps, int Width, int Height, int Relays)
    : IRouterMessage, IDeadLetterSuppression;
