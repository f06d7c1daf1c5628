using Router.Actors.Media;

namespace Router.Actors.Camera;

/// <summary>Settings of the camera entities (configuration section <c>Router:Camera</c>).</summary>
public sealed class CameraOptions
{
    /// <summary>A new subscriber gets the latest frame at once when it is younger than this. Default 5 s.</summary>
    public TimeSpan LatestFrameMaxAge { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A camera is offline when no frame arrived for this long. Default 3 s.</summary>
    public TimeSpan OfflineAfter { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>An entity with no subscribers and no frames for this long passivates. Default 60 s.</summary>
    public TimeSpan PassivateAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often an online camera publishes its <see cref="Messages.CameraStatus"/>. Default 1 s.</summary>
    public TimeSpan StatusInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>JPEG quality for frames captured from pull sources (1–100). Default 85 (as the Plexus SDK).</summary>
    public int PullJpegQuality { get; set; } = 85;

    /// <summary>
    /// A pull source's capture goes on this long after its last subscription ended, so a viewer that comes back (a page
    /// reload, a reconnect) finds it running, and a consumer that subscribes and leaves in a loop cannot make the node
    /// open the source (a file, an <c>ffmpeg</c> child for a URL) again and again. 00:00:00 stops it at once. Default 5 s.
    /// </summary>
    public TimeSpan PullStopAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Threads of a dedicated fan-out dispatcher (<see cref="FanOutDispatcher"/>) for the fan-out streams and the
    /// consumer actors; 0 (default) keeps them on the shared .NET thread pool. Measured with
    /// bench/Router.Bench on 2 cores: 1 thread cut S1 (one camera) CPU by 10–15 % (100 consumers 0.32–0.34 against
    /// 0.37–0.41 cores; 500: 1.04–1.12 against 1.17–1.33 CPU-s/GB) but raised S2 (200 cameras at 10 fps) p99 latency
    /// to 192–441 ms against 50–66 ms, and 2 threads did no better; so it is off unless a deployment is dominated by
    /// large fan-outs of few cameras.
    /// </summary>
    public int FanOutThreads { get; set; }

    /// <summary>
    /// How long a fan-out slot waits for a REMOTE subscriber's <c>StreamAck</c> (a gateway relay, which acks on receipt)
    /// before it sends the next frame anyway: remoting delivers at most once, so a frame or an ack lost in a brief
    /// disassociation would otherwise stop that subscription for good. Default 1 s (a re-arm after a merely late ack
    /// costs one extra frame in flight). Checked by one sweep per stream every half of the smaller timeout.
    /// </summary>
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The same deadline for LOCAL subscribers (consumer actors, a co-located relay): local delivery is not
    /// lost, and a consumer acks only when its WebSocket send completes, so this only bounds a stuck writer (whose
    /// socket the WebSocket keep-alive closes). Default 30 s.
    /// </summary>
    public TimeSpan LocalAckTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A gateway relay that got no frame for this long asks its camera for its status, and subscribes again when the
    /// camera is online and has a newer frame than the relay's newest (its subscription was lost); an idle or offline
    /// camera causes no re-subscription. Default 5 s.
    /// </summary>
    public TimeSpan RelayStallTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// New cameras (relays, and with them camera entities on the nodes) one tenant may start on one gateway per second.
    /// A subscription over it is answered <see cref="Messages.SubscriptionFailed"/> and the consumer's subscriber retries
    /// it (every 500 ms), so a tenant that subscribes to thousands of cameras at once gets them spread out at this rate
    /// instead of stalling other tenants: each new camera costs a relay, an entity and two fan-out streams, measured at
    /// ~1.7 ms of CPU (bench hostile, "subscription flood at limits"). Subscriptions to cameras the gateway already
    /// relays are not counted. Default 50/s.
    /// </summary>
    public double NewCamerasPerSecondPerTenant { get; set; } = 50;

    /// <summary>Burst of <see cref="NewCamerasPerSecondPerTenant"/>: new cameras a tenant may start at once. Default 100.</summary>
    public int NewCameraBurstPerTenant { get; set; } = 100;

    /// <summary>Size policy limits (pass-through and hard limit, in bytes).</summary>
    public SizePolicyOptions SizePolicy { get; set; } = new();

    /// <summary>Consumers' picture variants on a gateway (<c>Router:Camera:Variants</c>): how many per camera, encode concurrency, default quality.</summary>
    public Gateway.VariantOptions Variants { get; set; } = new();
}
