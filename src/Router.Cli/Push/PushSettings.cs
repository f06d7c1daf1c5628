namespace Router.Cli.Push;

/// <summary>Wire format of pushed frames.</summary>
internal enum PushFormat
{
    /// <summary>One binary message per frame in the BinaryFrameCodec layout.</summary>
    Binary,

    /// <summary>One text message per frame: <c>{"type":"video_frame","camera_id","frame":&lt;base64&gt;,...}</c>.</summary>
    Json,
}

/// <summary>Everything <see cref="DevicePusher"/> needs besides the frame source.</summary>
/// <param name="Urls">Device WebSocket URLs (already normalised to <c>/ws/device</c>), tried in turn on failure.</param>
/// <param name="ApiKey">API key sent in <c>device_auth</c>.</param>
/// <param name="SourceId">source_id sent in <c>device_auth</c> and in each binary header.</param>
/// <param name="CameraId">camera_id of every frame.</param>
/// <param name="Fps">Frame rate to pace at; null means the input's own rate, else 10.</param>
/// <param name="Count">Stop after this many frames were sent.</param>
/// <param name="Duration">Stop after this long.</param>
/// <param name="Format">Binary or JSON frames.</param>
internal sealed record PushSettings(
    IReadOnlyList<Uri> Urls,
    string ApiKey,
    string SourceId,
    string CameraId,
    double? Fps,
    long? Count,
    TimeSpan? Duration,
    PushFormat Format)
{
    /// <summary>Fallback rate for inputs without their own (JPEG folders).</summary>
    public const double DefaultFps = 10;

    /// <summary>How long to wait for the TCP/TLS/HTTP upgrade of one connection attempt.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long to wait for the reply to <c>device_auth</c>.</summary>
    public TimeSpan AuthTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Reconnect backoff.</summary>
    public Backoff Backoff { get; init; } = new(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(8));
}
