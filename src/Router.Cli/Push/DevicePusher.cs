using System.Diagnostics;
using System.Net.WebSockets;
using Router.Cli.FrameSources;
using Router.Protocol;

namespace Router.Cli.Push;

/// <summary>
/// Pushes live frames to Router's Plexus device WebSocket (<c>/ws/device</c>): connect, <c>device_auth</c>, then one
/// message per frame, paced by a <see cref="FramePump"/>. Connection failures and losses are retried forever with
/// exponential backoff, cycling through <see cref="PushSettings.Urls"/>; a refused key ends the run with exit code 3.
/// </summary>
internal sealed class DevicePusher
{
    private const int MaxReplyBytes = 1024 * 1024;
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(1);

    private readonly PushSettings settings;
    private readonly TextWriter output;
    private readonly TextWriter error;
    private readonly ServerErrorLog serverErrors;

    /// <summary>Creates a pusher; <paramref name="output"/> gets the summary line, <paramref name="error"/> progress and diagnostics.</summary>
    public DevicePusher(PushSettings settings, TextWriter output, TextWriter error)
    {
        if (settings.Urls.Count == 0) throw new ArgumentException("at least one URL is required", nameof(settings));
        this.settings = settings;
        this.output = output;
        this.error = error;
        serverErrors = new ServerErrorLog(error);
    }

    /// <summary>Counters of the run (live while <see cref="RunAsync"/> runs).</summary>
    public PushStats Stats { get; } = new();

    /// <summary>Reports (url, exception or reason) of each failed connection attempt; for tests and diagnostics.</summary>
    public event Action<Uri, string>? ConnectionFailed;

    /// <summary>
    /// Runs until the count, the duration or the end of the input (without loop) is reached, or until
    /// <paramref name="cancellationToken"/> (Ctrl-C) is cancelled; then prints the summary line.
    /// </summary>
    /// <returns>The process exit code (<see cref="ExitCodes"/>).</returns>
    public async Task<int> RunAsync(IFrameSource source, CancellationToken cancellationToken)
    {
        var fps = settings.Fps ?? source.NativeFps ?? PushSettings.DefaultFps;
        var clock = Stopwatch.StartNew();
        using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (settings.Duration is { } duration) run.CancelAfter(duration);
        using var pump = new FramePump(source, fps, Stats);
        var progress = new ProgressReporter(error, TimeSpan.FromSeconds(1), elapsed => [Stats.ProgressLine(elapsed)]);
        using var stopProgress = new CancellationTokenSource();
        var progressTask = progress.RunAsync(stopProgress.Token);
        error.WriteLine($"push: {source.Description} at {Units.One(fps)} fps as {settings.SourceId}/{settings.CameraId}, {settings.Format.ToString().ToLowerInvariant()} frames");
        int exitCode;
        try
        {
            exitCode = await ConnectLoopAsync(pump, run.Token);
        }
        catch (Exception) when (run.IsCancellationRequested)
        {
            exitCode = ExitCodes.Ok; // duration elapsed or Ctrl-C (whatever the socket threw while being torn down)
        }
        catch (ChannelInputException e)
        {
            error.WriteLine($"push: cannot read input: {e.Message}");
            exitCode = ExitCodes.Failure;
        }
        finally
        {
            await stopProgress.CancelAsync();
            await progressTask;
            if (!pump.Stop(TimeSpan.FromSeconds(5))) error.WriteLine("push: input read did not stop in time");
        }
        output.WriteLine(Stats.SummaryLine(clock.Elapsed));
        return exitCode;
    }

    private async Task<int> ConnectLoopAsync(FramePump pump, CancellationToken ct)
    {
        var urlIndex = 0;
        var attempt = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var url = settings.Urls[urlIndex];
            Stats.CurrentUrl = url;
            var outcome = await RunConnectionAsync(url, pump, ct);
            switch (outcome.Kind)
            {
                case OutcomeKind.Finished:
                    return ExitCodes.Ok;
                case OutcomeKind.Unauthorized:
                    error.WriteLine($"push: {url}: authentication refused: {outcome.Message}");
                    return ExitCodes.Unauthorized;
            }
            ct.ThrowIfCancellationRequested();
            ConnectionFailed?.Invoke(url, outcome.Message);
            attempt = outcome.WasAuthenticated ? 1 : attempt + 1;
            urlIndex = (urlIndex + 1) % settings.Urls.Count;
            var delay = settings.Backoff.Delay(attempt);
            error.WriteLine($"push: {url}: {outcome.Message}; retrying {settings.Urls[urlIndex]} in {Units.One(delay.TotalSeconds)} s");
            await Task.Delay(delay, ct);
        }
    }

    private async Task<Outcome> RunConnectionAsync(Uri url, FramePump pump, CancellationToken ct)
    {
        using var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(15);
        try
        {
            using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                connectTimeout.CancelAfter(settings.ConnectTimeout);
                try
                {
                    await socket.ConnectAsync(url, connectTimeout.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    return Outcome.Failed($"connect timed out after {Units.One(settings.ConnectTimeout.TotalSeconds)} s");
                }
            }

            var auth = await AuthenticateAsync(socket, ct);
            if (auth is not null) return auth;

            Stats.OnConnected();
            error.WriteLine($"push: connected to {url} as {settings.SourceId}");
            pump.Start();
            return await StreamAsync(socket, pump, ct);
        }
        catch (Exception e) when (e is WebSocketException or HttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            return Outcome.Failed(Describe(e));
        }
        finally
        {
            if (ct.IsCancellationRequested)
                await WebSocketIO.CloseQuietlyAsync(socket, WebSocketCloseStatus.NormalClosure, "stopped", CloseTimeout);
        }
    }

    /// <summary>Sends <c>device_auth</c> and waits for the reply; null when authenticated.</summary>
    private async Task<Outcome?> AuthenticateAsync(ClientWebSocket socket, CancellationToken ct)
    {
        await WebSocketIO.SendTextAsync(socket, PlexusJson.BuildDeviceAuth(settings.ApiKey, settings.SourceId, "router-cli", Units.ToolVersion), ct);

        using var authTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        authTimeout.CancelAfter(settings.AuthTimeout);
        WebSocketMessage reply;
        try
        {
            reply = await WebSocketIO.ReceiveAsync(socket, MaxReplyBytes, authTimeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return Outcome.Failed($"no reply to device_auth within {Units.One(settings.AuthTimeout.TotalSeconds)} s");
        }

        if (reply.Type == WebSocketMessageType.Close)
        {
            var reason = socket.CloseStatusDescription;
            return socket.CloseStatus == WebSocketCloseStatus.PolicyViolation
                ? Outcome.Refused(string.IsNullOrEmpty(reason) ? "closed with 1008 (policy violation)" : reason)
                : Outcome.Failed($"closed during authentication: {(int?)socket.CloseStatus} {reason}".TrimEnd());
        }
        var (type, message) = reply.Type == WebSocketMessageType.Text ? WebSocketIO.ReadTypeAndMessage(reply.Data.Span) : (null, null);
        switch (type)
        {
            case "authenticated":
                return null;
            case "error":
                // Plexus: a refused key gets {"type":"error"} and close 1008. Do not retry.
                await WebSocketIO.CloseQuietlyAsync(socket, WebSocketCloseStatus.NormalClosure, "bye", CloseTimeout);
                return Outcome.Refused(message ?? "error");
            default:
                return Outcome.Failed($"unexpected reply to device_auth: {(reply.Type == WebSocketMessageType.Text ? Truncate(reply.Text) : reply.Type.ToString())}");
        }
    }

    /// <summary>
    /// Runs the send loop and the receive loop of one authenticated connection. Socket operations use their own
    /// token: cancelling a pending WebSocket receive or send aborts the connection, so on count/end/stop the pusher
    /// first closes politely and only aborts when the server does not answer in time.
    /// </summary>
    private async Task<Outcome> StreamAsync(ClientWebSocket socket, FramePump pump, CancellationToken ct)
    {
        using var socketStop = new CancellationTokenSource();
        using var abortIfStuck = ct.Register(() => socketStop.CancelAfter(CloseTimeout * 2));
        var receiving = ReceiveLoopAsync(socket, socketStop.Token);
        var sending = SendLoopAsync(socket, pump.Reader, ct, socketStop.Token);
        var first = await Task.WhenAny(receiving, sending);
        if (first == sending && (sending.IsCompletedSuccessfully || ct.IsCancellationRequested))
        {
            // Count reached, end of input, or stopped (duration, Ctrl-C): close and wait (bounded) for the server's close.
            await WebSocketIO.CloseQuietlyAsync(socket, WebSocketCloseStatus.NormalClosure, ct.IsCancellationRequested ? "stopped" : "done", CloseTimeout);
            await Task.WhenAny(receiving, Task.Delay(CloseTimeout, CancellationToken.None));
            await socketStop.CancelAsync();
            await ObserveAsync(receiving);
            ct.ThrowIfCancellationRequested();
            return Outcome.Done;
        }

        await socketStop.CancelAsync();
        if (first == sending)
        {
            // The send loop failed: a read error of the input (ChannelInputException, rethrown) or a socket error.
            await ObserveAsync(receiving);
            try
            {
                await sending;
            }
            catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException)
            {
                return Outcome.Lost($"connection lost: {Describe(e)}");
            }
        }
        await ObserveAsync(sending);
        var lost = await receiving;
        if (socket.State == WebSocketState.CloseReceived)
            await WebSocketIO.CloseQuietlyAsync(socket, WebSocketCloseStatus.NormalClosure, "bye", CloseTimeout);
        return Outcome.Lost(lost);
    }

    private async Task SendLoopAsync(ClientWebSocket socket, System.Threading.Channels.ChannelReader<CapturedFrame> frames, CancellationToken ct, CancellationToken socketToken)
    {
        var messageType = settings.Format == PushFormat.Binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text;
        while (true)
        {
            bool more;
            try
            {
                more = await frames.WaitToReadAsync(ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new ChannelInputException(e);
            }
            if (!more) return; // end of input
            if (!frames.TryRead(out var captured)) continue;
            var payload = Encode(captured);
            try
            {
                await socket.SendAsync(payload, messageType, endOfMessage: true, socketToken);
            }
            catch
            {
                Stats.OnDropped(); // taken but not delivered
                throw;
            }
            var sent = Stats.OnSent(payload.Length);
            if (settings.Count is { } count && sent >= count) return;
        }
    }

    /// <summary>Reads server messages until the connection ends; returns why it ended.</summary>
    private async Task<string> ReceiveLoopAsync(ClientWebSocket socket, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                var message = await WebSocketIO.ReceiveAsync(socket, MaxReplyBytes, ct);
                if (message.Type == WebSocketMessageType.Close)
                    return $"server closed the connection: {(int?)socket.CloseStatus} {socket.CloseStatusDescription}".TrimEnd();
                if (message.Type != WebSocketMessageType.Text) continue;
                var (type, text) = WebSocketIO.ReadTypeAndMessage(message.Data.Span);
                if (type == "error")
                {
                    Stats.OnRejected();
                    serverErrors.Report(text ?? "error");
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException)
        {
            return $"connection lost: {Describe(e)}";
        }
    }

    private byte[] Encode(in CapturedFrame captured)
    {
        var frame = captured.Frame;
        if (frame.Raw is { } raw) return RawFrameCodec.Encode(settings.SourceId, settings.CameraId, raw.Layout, captured.TimestampMs, raw.Pixels);
        if (settings.Format == PushFormat.Binary)
        {
            var header = new BinaryFrameHeader(settings.SourceId, settings.CameraId, frame.Width, frame.Height, captured.TimestampMs);
            return BinaryFrameCodec.Encode(header, frame.Jpeg);
        }
        return PlexusJson.BuildDeviceVideoFrame(settings.CameraId, frame.Jpeg, frame.Width, frame.Height, captured.TimestampMs);
    }

    private static async Task ObserveAsync(Task task)
    {
        try
        {
            await task;
        }
        catch
        {
            // The other loop's failure is the one reported.
        }
    }

    private static string Describe(Exception e)
    {
        var message = e.Message;
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
            if (!string.IsNullOrEmpty(inner.Message) && !message.Contains(inner.Message, StringComparison.Ordinal))
                message += ": " + inner.Message;
        return message;
    }

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200] + "…";

    private enum OutcomeKind
    {
        Finished,
        Unauthorized,
        Failed,
    }

    private sealed record Outcome(OutcomeKind Kind, string Message, bool WasAuthenticated)
    {
        public static Outcome Done { get; } = new(OutcomeKind.Finished, "done", true);

        public static Outcome Refused(string message) => new(OutcomeKind.Unauthorized, message, false);

        public static Outcome Failed(string message) => new(OutcomeKind.Failed, message, false);

        public static Outcome Lost(string message) => new(OutcomeKind.Failed, message, true);
    }

    /// <summary>Prints server error replies, at most once per second per distinct message, with a repeat count.</summary>
    private sealed class ServerErrorLog(TextWriter error)
    {
        private readonly Lock gate = new();
        private string? lastMessage;
        private long lastPrinted;
        private int suppressed;

        public void Report(string message)
        {
            lock (gate)
            {
                var now = Stopwatch.GetTimestamp();
                if (message == lastMessage && Stopwatch.GetElapsedTime(lastPrinted, now) < TimeSpan.FromSeconds(1))
                {
                    suppressed++;
                    return;
                }
                var repeats = message == lastMessage && suppressed > 0 ? $" (+{suppressed} more)" : string.Empty;
                error.WriteLine($"push: server error: {message}{repeats}");
                lastMessage = message;
                lastPrinted = now;
                suppressed = 0;
            }
        }
    }
}

/// <summary>The frame input failed (the pump completed its channel with an error).</summary>
internal sealed class ChannelInputException(Exception inner) : Exception(inner.Message, inner);
