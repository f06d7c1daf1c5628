namespace Router.Gateway;

/// <summary>Gateway settings (configuration section <c>Router:Gateway</c>).</summary>
public sealed class GatewayOptions
{
    /// <summary>Time a client has to send its auth message after the WebSocket opens. Default 10 s (Plexus).</summary>
    public TimeSpan AuthTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// WebSocket keep-alive: after this long without a frame from the client, the server sends a Ping. Default 30 s;
    /// zero turns keep-alive off.
    /// </summary>
    public TimeSpan PingInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the client has to answer a keep-alive Ping with a Pong (any WebSocket client does so by itself) before
    /// the connection is considered dead and aborted. Default 30 s; zero sends unsolicited Pongs instead of Pings and
    /// never times out (the behaviour before .NET 9).
    /// </summary>
    public TimeSpan PingTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Consumer stream duration when the request has no <c>timeout</c>. Default 600 s.</summary>
    public TimeSpan DefaultStreamTimeout { get; set; } = TimeSpan.FromSeconds(600);

    /// <summary>Largest device WebSocket message in bytes; a larger one closes the socket with 1009. Default 1 MiB.</summary>
    public int MaxDeviceMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How long <c>GET /v1/sources</c>, the snapshot and the consumer stream's <c>init</c> wait for the cluster (the
    /// camera directory or entity); after it the REST endpoints answer 503 with <c>Retry-After</c>. Default 5 s.
    /// </summary>
    public TimeSpan QueryTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long an ingest waits for the camera entity's answer. Default 5 s.</summary>
    public TimeSpan IngestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Frames of one device connection sent to camera entities and not yet answered. A frame that arrives while this
    /// many are in flight is dropped (newer ones follow), so a device never waits on a camera that is moving between
    /// nodes and the gateway's memory per device stays bounded. Default 4.
    /// </summary>
    public int MaxFramesInFlightPerDevice { get; set; } = 4;

    /// <summary>
    /// An unanswered frame stops counting against <see cref="MaxFramesInFlightPerDevice"/> after this long (its answer,
    /// or its <see cref="IngestTimeout"/>, is still reported), so live frames resume as soon as a camera's shard has a
    /// new home instead of after the timeouts of frames sent to the lost one. Default 1 s. Measured with the fault test
    /// (kill -9 of the node hosting the camera): counting them until their 5 s timeout made recovery vary 11–15.3 s.
    /// </summary>
    public TimeSpan FrameInFlightStaleAfter { get; set; } = TimeSpan.FromSeconds(1);
}
