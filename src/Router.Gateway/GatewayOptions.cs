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

    /// <summary>
    /// Consumer WebSockets on plain HTTP/1.1 write each frame's shared, already framed message straight to the socket
    /// (<see cref="Streaming.DirectSendStream"/>) instead of through Kestrel's output pipe. Same bytes on the wire.
    /// Default true; false writes through Kestrel (the comparison in docs/benchmarks.md "Direct send").
    /// </summary>
    public bool DirectSend { get; set; } = true;

    /// <summary>Consumer stream duration when the request has no <c>timeout</c>. Default 600 s.</summary>
    public TimeSpan DefaultStreamTimeout { get; set; } = TimeSpan.FromSeconds(600);

    /// <summary>
    /// Largest device WebSocket message in bytes; a larger one closes the socket with 1009. Default 1,049,600 (1 MiB +
    /// 1 KiB): a binary frame of the size policy's default hard limit (1 MiB) plus the largest binary header (529 bytes)
    /// fits, so it gets the size policy's answer. Must be at least HardLimitBytes + 529 (checked at start-up).
    /// </summary>
    public int MaxDeviceMessageBytes { get; set; } = 1024 * 1024 + 1024;

    /// <summary>Raw frame ingest (section <c>Router:Gateway:RawIngest</c>): see <see cref="Ingest.RawIngestOptions"/>.</summary>
    public Ingest.RawIngestOptions RawIngest { get; set; } = new();

    /// <summary>
    /// How long <c>GET /v1/sources</c>, the snapshot and the consumer stream's <c>init</c> wait for the cluster (the
    /// camera directory or entity); after it the REST endpoints answer 503 with <c>Retry-After</c>. Default 5 s.
    /// </summary>
    public TimeSpan QueryTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long an ingest waits for the camera entity's answer. Default 5 s.</summary>
    public TimeSpan IngestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A device frame awaiting its camera's verdict for longer than this no longer holds its camera back: the camera's
    /// next frame is sent at once (the old frame's answer, or its <see cref="IngestTimeout"/>, is still reported), so
    /// live frames resume as soon as a camera's shard has a new home instead of after the timeouts of frames sent to the
    /// lost one. Default 1 s. Measured with the fault test (kill -9 of the node hosting the camera): waiting for the 5 s
    /// timeout made recovery vary 11–15.3 s.
    /// </summary>
    public TimeSpan FrameInFlightStaleAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Admission limits (section <c>Router:Gateway:Limits</c>): see <see cref="Admission.GatewayLimits"/>.</summary>
    public Admission.GatewayLimits Limits { get; set; } = new();
}
