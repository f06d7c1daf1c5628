namespace Router.Gateway.Admission;

/// <summary>
/// Admission limits of one gateway process (configuration section <c>Router:Gateway:Limits</c>). Every limit refuses
/// with a clear answer (HTTP 429 with <c>Retry-After</c>, a WebSocket close code with a reason, or a device error
/// reply) and is counted in <see cref="AdmissionMetrics"/>. The defaults leave room for a real fleet; docs/api.md
/// ("Limits") lists them with their status and close codes.
/// </summary>
public sealed class GatewayLimits
{
    /// <summary>
    /// Failed authentications (wrong or missing key, bad auth message, auth timeout) one client address may make at
    /// once before it is refused. Default 30. The allowance refills at <see cref="AuthFailuresPerMinute"/>.
    /// </summary>
    public int AuthFailureBurst { get; set; } = 30;

    /// <summary>Sustained failed authentications per client address, per minute. Default 30.</summary>
    public int AuthFailuresPerMinute { get; set; } = 30;

    /// <summary>
    /// Proxies (CIDR networks, e.g. <c>10.0.0.0/8</c>) whose <c>X-Forwarded-For</c> names the client address used by the
    /// failed-authentication limit. Empty (default): the TCP peer address is the client address.
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>HTTP ingest requests per second per API key (the burst is one second's worth). Default 500.</summary>
    public int IngestRequestsPerSecondPerKey { get; set; } = 500;

    /// <summary>HTTP ingest body bytes per second per API key (the burst is one second's worth). Default 64 MiB.</summary>
    public int IngestBytesPerSecondPerKey { get; set; } = 64 * 1024 * 1024;

    /// <summary>HTTP ingest requests of one API key whose body is being read or held for its camera's verdict. Default 32.</summary>
    public int MaxHeldBodiesPerKey { get; set; } = 32;

    /// <summary>Time a client has to send a whole HTTP ingest body; after it the request gets 408. Default 10 s.</summary>
    public TimeSpan BodyReadTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Messages per second one device connection may send after authenticating (frames, heartbeats, anything); the
    /// burst is one second's worth. Past it a message is dropped and answered with a <c>rate_limited</c> error (at
    /// most one error per second, counting the dropped messages). Default 500 (as Plexus' gateway).
    /// </summary>
    public int DeviceMessagesPerSecond { get; set; } = 500;

    /// <summary>
    /// Distinct camera_ids one device connection may send frames for. A frame of a further camera gets a
    /// <c>too_many_cameras</c> error (at most one per second). Bounds the gateway's memory per device connection
    /// (each camera holds at most one frame in flight and one waiting). Default 64.
    /// </summary>
    public int MaxCamerasPerDevice { get; set; } = 64;

    /// <summary>
    /// Shortest time between two <c>frames_dropped</c> warnings to a device (frames replaced by a newer frame of the
    /// same camera before its camera took them). Default 5 s.
    /// </summary>
    public TimeSpan DropNoticeInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary><c>camera_id</c> parameters one consumer connection may give (else HTTP 400). Default 64.</summary>
    public int MaxCamerasPerConsumer { get; set; } = 64;

    /// <summary>Open consumer connections of one tenant on this gateway (else close 1013). Default 1000.</summary>
    public int MaxConsumerConnectionsPerTenant { get; set; } = 1000;

    /// <summary>New consumer connections per second of one tenant on this gateway (else close 1013). Default 100.</summary>
    public int ConsumerConnectsPerSecondPerTenant { get; set; } = 100;

    /// <summary>
    /// Consumer connections one tenant may open at once (the bucket of <see cref="ConsumerConnectsPerSecondPerTenant"/>).
    /// Default 1000, as <see cref="MaxConsumerConnectionsPerTenant"/>: all consumers of a gateway that restarted reconnect at once.
    /// </summary>
    public int ConsumerConnectBurstPerTenant { get; set; } = 1000;

    /// <summary>
    /// New subscriptions per second of one tenant on this gateway: a connection costs one per camera_id it names, or
    /// one when it names none (else close 1013). Default 200.
    /// </summary>
    public int SubscriptionsPerSecondPerTenant { get; set; } = 200;

    /// <summary>
    /// Subscriptions one tenant may start at once (the bucket of <see cref="SubscriptionsPerSecondPerTenant"/>). Default
    /// 2000: 1000 consumers of two cameras each reconnecting at once.
    /// </summary>
    public int SubscriptionBurstPerTenant { get; set; } = 2000;
}
