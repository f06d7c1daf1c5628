namespace Router.Cli.Watch;

/// <summary>Everything <see cref="StreamWatcher"/> needs.</summary>
/// <param name="BaseUrl">ws:// or wss:// base URL of a Router gateway (the first one tried).</param>
/// <param name="ApiKey">API key sent in the <c>auth</c> message.</param>
/// <param name="SourceId">The source to watch.</param>
/// <param name="Cameras">camera_id filter; empty means every camera of the source.</param>
/// <param name="Format"><c>json</c>, <c>binary</c> or <c>jpeg</c>.</param>
/// <param name="MaxFps">Server-side rate limit per camera (<c>max_fps</c>).</param>
/// <param name="TimeoutSeconds">Server-side stream timeout (<c>timeout</c>), after which it closes with 4008.</param>
/// <param name="Duration">Client-side run time, after which the watcher closes normally.</param>
/// <param name="OutputDirectory">Where to write each received JPEG as <c>&lt;camera&gt;-&lt;n&gt;.jpg</c>, if set.</param>
internal sealed record WatchSettings(
    Uri BaseUrl,
    string ApiKey,
    string SourceId,
    IReadOnlyList<string> Cameras,
    string Format,
    double? MaxFps,
    int? TimeoutSeconds,
    TimeSpan? Duration,
    string? OutputDirectory)
{
    /// <summary>Supported values of <see cref="Format"/>.</summary>
    public static readonly string[] Formats = ["json", "binary", "jpeg"];

    /// <summary>The consumer WebSocket URL these settings describe.</summary>
    public Uri StreamUrl => StreamUrlOf(BaseUrl);

    /// <summary>
    /// Further gateway base URLs. When set, a refused or lost connection (or a close 1001, 1006, 1011, 1012, 1013 from
    /// a gateway shutting down or failing) is retried on the next URL in turn (<see cref="BaseUrl"/> first), with
    /// backoff 0.5 s doubling to 8 s, until the duration (then counted from the start) ends; without them the watcher
    /// ends when its one connection does.
    /// </summary>
    public IReadOnlyList<Uri> FailoverUrls { get; init; } = [];

    /// <summary>The consumer WebSocket URL of these settings on the gateway at <paramref name="baseUrl"/>.</summary>
    public Uri StreamUrlOf(Uri baseUrl) => Commands.CliUrls.BuildStreamUrl(baseUrl, SourceId, Cameras, Format, MaxFps, TimeoutSeconds);

    /// <summary>How long to wait for the connection to open.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
