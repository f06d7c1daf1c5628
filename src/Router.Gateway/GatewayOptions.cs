namespace Router.Gateway;

/// <summary>Gateway settings (configuration section <c>Router:Gateway</c>).</summary>
public sealed class GatewayOptions
{
    /// <summary>Time a client has to send its auth message after the WebSocket opens. Default 10 s (Plexus).</summary>
    public TimeSpan AuthTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>WebSocket keep-alive interval. Default 30 s.</summary>
    public TimeSpan PingInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Consumer stream duration when the request has no <c>timeout</c>. Default 600 s.</summary>
    public TimeSpan DefaultStreamTimeout { get; set; } = TimeSpan.FromSeconds(600);

    /// <summary>Largest device WebSocket message in bytes; a larger one closes the socket with 1009. Default 1 MiB.</summary>
    public int MaxDeviceMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>How long an ingest waits for the camera entity's answer. Default 5 s.</summary>
    public TimeSpan IngestTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
