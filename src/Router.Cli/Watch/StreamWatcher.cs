using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json;
using Router.Cli.FrameSources;
using Router.Protocol;

namespace Router.Cli.Watch;

/// <summary>
/// Subscribes to the consumer WebSocket <c>/v1/sources/{source_id}/video/stream</c>, authenticates with
/// <c>{"type":"auth","api_key"}</c>, and measures what arrives per camera: frame rate, latency (now − frame
/// timestamp), resolution and bytes per second, printed once per second, with a summary at the end.
/// </summary>
internal sealed class StreamWatcher(WatchSettings settings, TextWriter output, TextWriter error)
{
    private const int MaxMessageBytes = 16 * 1024 * 1024;
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(2);

    private readonly Lock gate = new();
    private readonly Dictionary<string, CameraStats> cameras = new(StringComparer.Ordinal);
    private volatile bool closing;
    private bool retryableClose;

    /// <summary>Frames received so far, per camera (a snapshot).</summary>
    public IReadOnlyDictionary<string, long> FramesPerCamera
    {
        get
        {
            lock (gate) return cameras.ToDictionary(c => c.Key, c => c.Value.Frames);
        }
    }

    /// <summary>
    /// Runs until the server closes, the duration elapses or <paramref name="cancellationToken"/> (Ctrl-C) fires. With
    /// <see cref="WatchSettings.FailoverUrls"/>, a refused or lost connection is retried on the next URL instead.
    /// </summary>
    /// <returns>0 for a normal end or stream timeout (4008), 3 for unauthorized (4001), 1 for anything else.</returns>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        List<Uri> urls = [settings.BaseUrl, .. settings.FailoverUrls];
        var failover = urls.Count > 1;
        var clock = Stopwatch.StartNew();
        using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var stopProgress = new CancellationTokenSource();
        Task? progressTask = null;
        // The duration ended (not Ctrl-C) while retrying, before any gateway was reached: a failure.
        bool NeverReachedInTime() => progressTask is null && run.IsCancellationRequested && !cancellationToken.IsCancellationRequested;
        var index = 0;
        var attempt = 0;
        int exitCode;
        // With failover the duration bounds the retries too; a single URL's duration counts from its connection.
        if (failover && settings.Duration is { } total) run.CancelAfter(total);
        try
        {
            while (true)
            {
                var url = settings.StreamUrlOf(urls[index]);
                var outcome = await WatchOnceAsync(url, run.Token, () =>
                {
                    if (progressTask is not null) return;
                    if (!failover && settings.Duration is { } duration) run.CancelAfter(duration);
                    progressTask = new ProgressReporter(error, TimeSpan.FromSeconds(1), WindowLines).RunAsync(stopProgress.Token);
                    if (settings.OutputDirectory is not null) Directory.CreateDirectory(settings.OutputDirectory);
                });
                if (outcome.Connected) attempt = 0;
                if (!outcome.Retry || !failover || run.IsCancellationRequested)
                {
                    if (!outcome.Connected && progressTask is null && !run.IsCancellationRequested) return outcome.ExitCode; // never connected: no summary
                    exitCode = NeverReachedInTime() ? ExitCodes.Failure : outcome.ExitCode;
                    break;
                }
                index = (index + 1) % urls.Count;
                var delay = RetryBackoff.Delay(++attempt);
                error.WriteLine($"watch: retrying {urls[index]} in {Units.One(delay.TotalSeconds)} s");
                try
                {
                    await Task.Delay(delay, run.Token);
                }
                catch (OperationCanceledException)
                {
                    exitCode = NeverReachedInTime() ? ExitCodes.Failure : ExitCodes.Ok;
                    break;
                }
            }
        }
        finally
        {
            await stopProgress.CancelAsync();
            if (progressTask is not null) await progressTask;
        }
        output.WriteLine(Summary(clock.Elapsed));
        return exitCode;
    }

    /// <summary>Failover backoff, as <c>router push</c>'s: 0.5 s doubling to 8 s, ±25 % jitter.</summary>
    private static readonly Push.Backoff RetryBackoff = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(8));

    /// <summary>How one connection ended: the exit code if the watcher stops here, and whether another URL may be tried.</summary>
    private readonly record struct Outcome(int ExitCode, bool Retry, bool Connected);

    /// <summary>One connection: connect, authenticate, receive until it ends; <paramref name="onConnected"/> runs once it is open.</summary>
    private async Task<Outcome> WatchOnceAsync(Uri url, CancellationToken run, Action onConnected)
    {
        using var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(15);
        try
        {
            using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(run);
            connectTimeout.CancelAfter(settings.ConnectTimeout);
            await socket.ConnectAsync(url, connectTimeout.Token);
        }
        catch (OperationCanceledException) when (run.IsCancellationRequested)
        {
            return new Outcome(ExitCodes.Ok, Retry: false, Connected: false);
        }
        catch (Exception e) when (e is WebSocketException or HttpRequestException or OperationCanceledException)
        {
            error.WriteLine($"watch: cannot connect to {url}: {Describe(e)}");
            return new Outcome(ExitCodes.Failure, Retry: true, Connected: false);
        }
        error.WriteLine($"watch: connected to {url}");
        onConnected();
        closing = false;
        retryableClose = false;
        try
        {
            await WebSocketIO.SendTextAsync(socket, PlexusJson.BuildConsumerAuth(settings.ApiKey), run);
            var code = await ReceiveUntilClosedOrStoppedAsync(socket, run);
            return new Outcome(code, retryableClose, Connected: true);
        }
        catch (Exception) when (run.IsCancellationRequested)
        {
            return new Outcome(ExitCodes.Ok, Retry: false, Connected: true); // stopped while sending auth
        }
        catch (Exception e) when (e is WebSocketException or IOException)
        {
            error.WriteLine($"watch: connection lost: {Describe(e)}");
            return new Outcome(ExitCodes.Failure, Retry: true, Connected: true);
        }
    }

    /// <summary>
    /// Receives until the server closes, or until <paramref name="stop"/> fires; then closes politely (a cancelled
    /// WebSocket receive would abort the connection) and aborts only if the server does not answer in time.
    /// </summary>
    private async Task<int> ReceiveUntilClosedOrStoppedAsync(ClientWebSocket socket, CancellationToken stop)
    {
        using var socketStop = new CancellationTokenSource();
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = stop.Register(() => stopped.TrySetResult());
        var receiving = ReceiveLoopAsync(socket, socketStop.Token);
        if (await Task.WhenAny(receiving, stopped.Task) == receiving) return await receiving;

        closing = true;
        await WebSocketIO.CloseQuietlyAsync(socket, WebSocketCloseStatus.NormalClosure, "bye", CloseTimeout);
        socketStop.CancelAfter(CloseTimeout);
        try
        {
            await receiving;
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException)
        {
            // The server did not complete the close in time.
        }
        return ExitCodes.Ok;
    }

    private async Task<int> ReceiveLoopAsync(ClientWebSocket socket, CancellationToken ct)
    {
        while (true)
        {
            var message = await WebSocketIO.ReceiveAsync(socket, MaxMessageBytes, ct);
            switch (message.Type)
            {
                case WebSocketMessageType.Close:
                    return await OnCloseAsync(socket);
                case WebSocketMessageType.Text:
                    await OnTextAsync(message.Data, ct);
                    break;
                case WebSocketMessageType.Binary:
                    await OnBinaryAsync(message.Data, ct);
                    break;
            }
        }
    }

    private async Task<int> OnCloseAsync(ClientWebSocket socket)
    {
        var code = (int?)socket.CloseStatus;
        var reason = socket.CloseStatusDescription;
        if (closing) return ExitCodes.Ok; // the answer to our own close
        // A gateway shutting down (1001, 1012), failing (1011, 1013) or gone (1006): another gateway may serve the stream.
        retryableClose = code is null or 1001 or 1006 or 1011 or 1012 or 1013;
        error.WriteLine($"watch: closed by server: {code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no code"} {reason}".TrimEnd());
        await WebSocketIO.CloseQuietlyAsync(socket, WebSocketCloseStatus.NormalClosure, "bye", CloseTimeout);
        return code switch
        {
            4001 => ExitCodes.Unauthorized,
            4008 => ExitCodes.Ok,
            _ => ExitCodes.Failure,
        };
    }

    private async Task OnTextAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        JsonDocument doc;
        try
        {
            var reader = new Utf8JsonReader(data.Span);
            doc = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException)
        {
            error.WriteLine("watch: ignoring a text message that is not JSON");
            return;
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return;
            switch (WebSocketIO.GetString(root, "type"))
            {
                case "init":
                    PrintInit(root);
                    break;
                case "video_frame":
                    if (!root.TryGetProperty("frame", out var frame) || frame.ValueKind != JsonValueKind.String || !frame.TryGetBytesFromBase64(out var jpeg))
                    {
                        error.WriteLine("watch: video_frame without a base64 frame");
                        return;
                    }
                    var camera = WebSocketIO.GetString(root, "camera_id") ?? "?";
                    var width = GetInt(root, "width");
                    var height = GetInt(root, "height");
                    long? timestamp = root.TryGetProperty("timestamp", out var t) && t.ValueKind == JsonValueKind.Number
                        ? t.TryGetInt64(out var ms) ? ms : (long)t.GetDouble()
                        : null;
                    await OnFrameAsync(camera, jpeg, width, height, timestamp, ct);
                    break;
                case "error":
                    error.WriteLine($"watch: server error: {WebSocketIO.GetString(root, "message")}");
                    break;
            }
        }
    }

    private async Task OnBinaryAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (settings.Format == "jpeg")
        {
            var jpeg = data.ToArray();
            JpegHeader.TryParse(jpeg, out var info, out _);
            await OnFrameAsync(settings.Cameras.Count == 1 ? settings.Cameras[0] : "?", jpeg, info.Width, info.Height, null, ct);
            return;
        }
        if (!BinaryFrameCodec.TryDecode(data.Span, out var header, out var offset, out var decodeError))
        {
            error.WriteLine($"watch: bad binary frame: {decodeError}");
            return;
        }
        await OnFrameAsync(header.CameraId, data[offset..].ToArray(), header.Width, header.Height, header.TimestampMs, ct);
    }

    private async Task OnFrameAsync(string camera, byte[] jpeg, int width, int height, long? timestampMs, CancellationToken ct)
    {
        long? latency = timestampMs is { } ts and > 0 ? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - ts : null;
        long n;
        lock (gate)
        {
            if (!cameras.TryGetValue(camera, out var stats)) cameras[camera] = stats = new CameraStats(camera);
            stats.Add(jpeg.Length, width, height, latency);
            n = stats.Frames;
        }
        if (settings.OutputDirectory is { } dir)
            await File.WriteAllBytesAsync(Path.Combine(dir, $"{SafeFileName(camera)}-{n:D6}.jpg"), jpeg, ct);
    }

    private void PrintInit(JsonElement root)
    {
        if (!root.TryGetProperty("online_sources", out var sources) || sources.ValueKind != JsonValueKind.Array || sources.GetArrayLength() == 0)
        {
            error.WriteLine($"watch: init: {settings.SourceId} is not online yet (waiting for frames)");
            return;
        }
        foreach (var source in sources.EnumerateArray())
        {
            var list = new List<string>();
            if (source.TryGetProperty("cameras", out var cams) && cams.ValueKind == JsonValueKind.Array)
                foreach (var cam in cams.EnumerateArray())
                    list.Add($"{WebSocketIO.GetString(cam, "camera_id")} ({WebSocketIO.GetString(cam, "video_type")})");
            error.WriteLine($"watch: init: {WebSocketIO.GetString(source, "source_id")} online ({WebSocketIO.GetString(source, "platform") ?? "unknown platform"}), cameras: {(list.Count == 0 ? "none" : string.Join(", ", list))}");
        }
    }

    private IEnumerable<string> WindowLines(TimeSpan elapsed)
    {
        lock (gate)
            return cameras.Values.OrderBy(c => c.CameraId, StringComparer.Ordinal).Select(c => c.TakeWindowLine(elapsed)).ToList();
    }

    private string Summary(TimeSpan elapsed)
    {
        lock (gate)
        {
            if (cameras.Count == 0) return $"watch summary: no frames received in {Units.One(elapsed.TotalSeconds)} s";
            return "watch summary: " + string.Join("; ", cameras.Values.OrderBy(c => c.CameraId, StringComparer.Ordinal).Select(c => c.Summary()));
        }
    }

    private static int GetInt(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : 0;

    private static string SafeFileName(string camera)
    {
        var invalid = Path.GetInvalidFileNameChars();
        return string.Concat(camera.Select(c => c == ':' || invalid.Contains(c) ? '_' : c));
    }

    private static string Describe(Exception e) =>
        e.InnerException is { } inner && !e.Message.Contains(inner.Message, StringComparison.Ordinal) ? $"{e.Message}: {inner.Message}" : e.Message;
}
