using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Router.Bench.Media;
using Router.Protocol;

namespace Router.Bench.Load;

/// <summary>Where and as whom the hostile tenant attacks, and for how long a flood lasts.</summary>
internal sealed record AttackTarget(Uri HttpBase, Uri WsBase, string ApiKey, FrameSet Frames, TimeSpan Duration);

/// <summary>One attack of the hostile tenant: a name for the table, what it does, and the run (returns what the attacker got back).</summary>
internal sealed record Attack(string Name, string Description, Func<AttackTarget, CancellationToken, Task<string>> RunAsync);

/// <summary>
/// The hostile tenant's attacks (issue 8, "Measure"), each over the public protocols only: decompression bombs over HTTP
/// ingest and on a device socket, a frame flood, an auth flood, a subscription flood and held request bodies. Each
/// returns a one-line account of the server's answers, so the table shows whether the attack was refused or absorbed.
/// </summary>
internal static class Attacks
{
    /// <summary>Size of a decompression bomb in bytes: above the re-encode threshold (750,000), under the hard limit.</summary>
    public const int BombBytes = 800_000;

    /// <summary>The SOF dimensions a bomb claims: 32768 × 32767 = 1,073,709,056 pixels, just under OpenCV's 2^30 limit.</summary>
    public const int BombWidth = 32768, BombHeight = 32767;

    /// <summary>The re-encode flood's picture: the largest the size policy decodes by default (7680 × 4320, its MaxPixels).</summary>
    public const int ReencodeWidth = 7680, ReencodeHeight = 4320;

    /// <summary>Parallel clients of the re-encode flood.</summary>
    public const int ReencodeClients = 4;

    public static IReadOnlyList<Attack> All { get; } =
    [
        new("bomb", $"one {BombBytes:N0}-byte JPEG claiming {BombWidth}x{BombHeight} (SOF patched) over HTTP ingest", BombHttpAsync),
        new("bomb x8", "eight such bombs back to back on one device socket", BombsOnSocketAsync),
        new("reencode flood", $"{ReencodeClients} HTTP clients posting real {ReencodeWidth}x{ReencodeHeight} JPEGs of {BombBytes:N0} bytes " +
            "(decodable, in the re-encode range) back to back, each to its own camera, 50 ms pause after a refusal", ReencodeFloodAsync),
        new("frame flood", "one device socket sending real frames as fast as it can", FrameFloodAsync),
        new("auth flood", "wrong-key auths from 8 parallel clients (consumer and device sockets), up to 5,000", AuthFloodAsync),
        new("held bodies", "300 HTTP ingest requests sending headers + 600,000 of 1,000,000 bytes, then holding", HeldBodiesAsync),
        new("subscription flood", "6,000 unknown camera ids from 20 consumer sockets (300 each), held",
            (t, ct) => SubscriptionFloodAsync(t, sockets: 20, perSocket: 300, ct)),
        // The same flood shaped to pass the per-connection camera limit (64 camera_ids): the tenant-wide connection and
        // subscription limits, and the entities and relays it does create, are what is measured.
        new("subscription flood at limits", "6,400 unknown camera ids from 100 consumer sockets (64 each, the per-connection limit), held",
            (t, ct) => SubscriptionFloodAsync(t, sockets: 100, perSocket: 64, ct)),
    ];

    /// <summary>
    /// A real JPEG made into a decompression bomb: its SOF claims <paramref name="width"/> × <paramref name="height"/>,
    /// and COM segments right after SOI pad it to exactly <paramref name="size"/> bytes (still SOI … SOF … EOI).
    /// </summary>
    /// <exception cref="ArgumentException">No SOF in <paramref name="jpeg"/>, or it is larger than <paramref name="size"/>.</exception>
    public static byte[] BuildBomb(byte[] jpeg, int size = BombBytes, int width = BombWidth, int height = BombHeight)
    {
        var patched = (byte[])jpeg.Clone();
        var sof = JpegHeader.FindStartOfFrame(patched) ?? throw new ArgumentException("no SOF marker in the JPEG", nameof(jpeg));
        BinaryPrimitives.WriteUInt16BigEndian(patched.AsSpan(sof + 5), (ushort)height);
        BinaryPrimitives.WriteUInt16BigEndian(patched.AsSpan(sof + 7), (ushort)width);
        var need = size - patched.Length;
        if (need < 4) throw new ArgumentException($"the JPEG ({jpeg.Length} bytes) leaves no room for padding to {size}", nameof(jpeg));
        var segments = (need + 65536) / 65537; // a COM segment is at most 2 + 65535 bytes
        var bomb = new byte[size];
        patched.AsSpan(0, 2).CopyTo(bomb); // SOI
        var pos = 2;
        for (var i = 0; i < segments; i++)
        {
            var total = need / segments + (i < need % segments ? 1 : 0);
            bomb[pos] = 0xFF;
            bomb[pos + 1] = 0xFE;
            BinaryPrimitives.WriteUInt16BigEndian(bomb.AsSpan(pos + 2), (ushort)(total - 2));
            bomb.AsSpan(pos + 4, total - 4).Fill((byte)'B');
            pos += total;
        }
        patched.AsSpan(2).CopyTo(bomb.AsSpan(pos));
        return bomb;
    }

    private static async Task<string> BombHttpAsync(AttackTarget t, CancellationToken ct)
    {
        var bomb = BuildBomb(t.Frames.Frames[0]);
        using var http = new HttpClient { Timeout = t.Duration + TimeSpan.FromSeconds(5) };
        using var content = new ByteArrayContent(bomb);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        using var request = new HttpRequestMessage(HttpMethod.Post,
            new Uri(t.HttpBase, $"/v1/sources/bomb-robot/video/frames?camera_id=bomb&timestamp={DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}")) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", t.ApiKey);
        var sw = Stopwatch.StartNew();
        try
        {
            using var response = await http.SendAsync(request, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            return $"HTTP {(int)response.StatusCode} after {sw.ElapsedMilliseconds} ms {Short(body)}";
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return $"no answer within {http.Timeout.TotalSeconds:0} s";
        }
        catch (HttpRequestException e)
        {
            return $"failed after {sw.ElapsedMilliseconds} ms: {Short(e.Message)}";
        }
    }

    /// <summary>
    /// A real, decodable <see cref="ReencodeWidth"/> × <see cref="ReencodeHeight"/> JPEG (flat colour and text, quality
    /// 80), padded with COM segments to <see cref="BombBytes"/>: over the pass-through size, so every one is decoded and
    /// re-encoded by the camera's node (~150 ms of CPU each on this machine).
    /// </summary>
    public static byte[] BuildReencodeFrame()
    {
        using var image = new OpenCvSharp.Mat(ReencodeHeight, ReencodeWidth, OpenCvSharp.MatType.CV_8UC3, new OpenCvSharp.Scalar(40, 120, 200));
        OpenCvSharp.Cv2.PutText(image, "Router", new OpenCvSharp.Point(ReencodeWidth / 10, ReencodeHeight / 2),
            OpenCvSharp.HersheyFonts.HersheySimplex, 19, OpenCvSharp.Scalar.White, 25);
        OpenCvSharp.Cv2.ImEncode(".jpg", image, out var jpeg, new OpenCvSharp.ImageEncodingParam(OpenCvSharp.ImwriteFlags.JpegQuality, 80));
        return BuildBomb(jpeg, BombBytes, ReencodeWidth, ReencodeHeight); // its own dimensions: padding only
    }

    private static async Task<string> ReencodeFloodAsync(AttackTarget t, CancellationToken ct)
    {
        var frame = BuildReencodeFrame();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var answers = new ConcurrentDictionary<string, int>();
        var end = Stopwatch.GetTimestamp() + (long)(t.Duration.TotalSeconds * Stopwatch.Frequency);
        async Task ClientAsync(int client)
        {
            while (Stopwatch.GetTimestamp() < end && !ct.IsCancellationRequested)
            {
                using var content = new ByteArrayContent(frame);
                content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(t.HttpBase,
                    $"/v1/sources/reencode-robot/video/frames?camera_id=c{client}&timestamp={DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}")) { Content = content };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", t.ApiKey);
                string answer;
                try
                {
                    using var response = await http.SendAsync(request, ct);
                    answer = $"HTTP {(int)response.StatusCode}";
                }
                catch (TaskCanceledException) when (!ct.IsCancellationRequested) { answer = "no answer in 30 s"; }
                catch (HttpRequestException e) { answer = $"failed: {Short(e.Message)}"; }
                answers.AddOrUpdate(answer, 1, (_, n) => n + 1);
                if (answer != "HTTP 202") await Task.Delay(50, ct); // a refused client retries a little later
            }
        }
        try { await Task.WhenAll(Enumerable.Range(0, ReencodeClients).Select(ClientAsync)); }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        return string.Join(", ", answers.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key} × {a.Value}"));
    }

    private static async Task<string> BombsOnSocketAsync(AttackTarget t, CancellationToken ct)
    {
        var bomb = BuildBomb(t.Frames.Frames[0]);
        await using var device = await HostileDevice.ConnectAsync(t, "bomb-robot", ct);
        var sw = Stopwatch.StartNew();
        var sent = 0;
        try
        {
            for (var i = 0; i < 8; i++)
            {
                await device.SendFrameAsync("bombs", bomb, BombWidth, BombHeight, ct);
                sent++;
            }
        }
        catch (WebSocketException e)
        {
            return $"{sent} of 8 sent, then {Short(e.Message)}; replies: {device.Replies()}";
        }
        var sentMs = sw.ElapsedMilliseconds;
        // Wait for an answer to each (replies are errors; accepted frames get none), at most the attack's duration.
        var deadline = Stopwatch.GetTimestamp() + (long)(t.Duration.TotalSeconds * Stopwatch.Frequency);
        while (device.ReplyCount < sent && device.Closed is null && Stopwatch.GetTimestamp() < deadline) await Task.Delay(50, ct);
        return $"8 sent in {sentMs} ms; replies after {sw.ElapsedMilliseconds} ms: {device.Replies()}";
    }

    private static async Task<string> FrameFloodAsync(AttackTarget t, CancellationToken ct)
    {
        await using var device = await HostileDevice.ConnectAsync(t, "flood-robot", ct);
        // A consumer of the flooded camera (same tenant) counts what got through: sent - delivered - replies = dropped
        // without a word (the consumer itself may conflate, so this is an upper bound on silent drops).
        using var invoker = Connector.CreateInvoker(new ConnectOptions());
        using var watcher = await Connector.ConnectAsync(new Uri(t.WsBase, "/v1/sources/flood-robot/video/stream?camera_id=flood&format=binary&timeout=600"),
            invoker, new ConnectOptions(WebSocketBufferBytes: 256 * 1024), ct);
        await watcher.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new { type = "auth", api_key = t.ApiKey }), WebSocketMessageType.Text, true, ct);
        var delivered = 0L;
        var watching = Task.Run(async () =>
        {
            var buffer = new byte[2 * 1024 * 1024];
            try
            {
                while (watcher.State == WebSocketState.Open)
                {
                    var r = await watcher.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                    if (r.MessageType == WebSocketMessageType.Close) return;
                    if (r.EndOfMessage && r.MessageType == WebSocketMessageType.Binary) Interlocked.Increment(ref delivered);
                }
            }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException) { }
        }, CancellationToken.None);
        var sent = 0L;
        var sw = Stopwatch.StartNew();
        string? error = null;
        try
        {
            // Not cancelled mid-send (that would abort the socket): a server that stops reading holds the attack until
            // the scenario's own deadline, which the table then shows.
            while (sw.Elapsed < t.Duration)
            {
                await device.SendFrameAsync("flood", t.Frames[sent], t.Frames.Width, t.Frames.Height, ct);
                sent++;
            }
        }
        catch (WebSocketException e) { error = Short(e.Message); }
        var seconds = sw.Elapsed.TotalSeconds;
        await Task.Delay(500, ct); // replies and frames in flight
        Connector.AbortQuietly(watcher);
        await watching.WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None).ContinueWith(_ => { }, CancellationToken.None);
        return $"{sent:N0} frames in {seconds:0.0} s ({sent / seconds:N0}/s){(error is null ? "" : $", then {error}")}; " +
               $"a consumer of that camera got {Interlocked.Read(ref delivered):N0}; replies: {device.Replies()}";
    }

    private static async Task<string> AuthFloodAsync(AttackTarget t, CancellationToken ct)
    {
        const int maxAttempts = 5000;
        var outcomes = new ConcurrentDictionary<string, int>();
        var attempts = 0;
        var latencies = new ConcurrentBag<long>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stop.CancelAfter(t.Duration);
        var sw = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            using var invoker = Connector.CreateInvoker(new ConnectOptions());
            while (!stop.IsCancellationRequested)
            {
                var attempt = Interlocked.Increment(ref attempts);
                if (attempt > maxAttempts) break;
                var device = (attempt & 1) == 0;
                var started = Stopwatch.GetTimestamp();
                var outcome = await WrongKeyAuthAsync(t, invoker, device, ct);
                latencies.Add((Stopwatch.GetTimestamp() - started) * 1000 / Stopwatch.Frequency);
                outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
            }
        }, CancellationToken.None)).ToArray();
        await Task.WhenAll(workers);
        var done = outcomes.Values.Sum();
        var sorted = latencies.Order().ToArray();
        var p50 = sorted.Length == 0 ? 0 : sorted[sorted.Length / 2];
        return $"{done:N0} wrong-key auths in {sw.Elapsed.TotalSeconds:0.0} s ({done / sw.Elapsed.TotalSeconds:N0}/s, median {p50} ms): " +
               string.Join(", ", outcomes.OrderByDescending(o => o.Value).Select(o => $"{o.Key} ×{o.Value:N0}"));
    }

    private static async Task<string> WrongKeyAuthAsync(AttackTarget t, HttpMessageInvoker invoker, bool device, CancellationToken ct)
    {
        var uri = new Uri(t.WsBase, device ? "/ws/device" : "/v1/sources/auth-robot/video/stream?camera_id=front");
        var key = "wrong_" + Guid.NewGuid().ToString("N");
        ClientWebSocket? ws = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            ws = await Connector.ConnectAsync(uri, invoker, new ConnectOptions(), timeout.Token);
            var auth = device
                ? PlexusJson.BuildDeviceAuth(key, "auth-robot")
                : PlexusJson.BuildConsumerAuth(key);
            await ws.SendAsync(auth, WebSocketMessageType.Text, true, timeout.Token);
            var buffer = new byte[4096];
            while (true)
            {
                var r = await ws.ReceiveAsync(buffer.AsMemory(), timeout.Token);
                if (r.MessageType == WebSocketMessageType.Close)
                    return $"{(device ? "device" : "consumer")} closed {(int?)ws.CloseStatus}";
                if (!r.EndOfMessage) continue;
                var text = Encoding.UTF8.GetString(buffer, 0, r.Count);
                if (text.Contains("authenticated", StringComparison.Ordinal) || text.Contains("\"init\"", StringComparison.Ordinal))
                    return "ACCEPTED (wrong key!)";
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return "no answer in 10 s";
        }
        catch (WebSocketException e)
        {
            return UpgradeRefusal(e);
        }
        catch (HttpRequestException e)
        {
            return "connect failed: " + Short(e.Message, 40);
        }
        finally
        {
            Connector.AbortQuietly(ws);
        }
    }

    private static async Task<string> SubscriptionFloodAsync(AttackTarget t, int sockets, int perSocket, CancellationToken ct)
    {
        var outcomes = new ConcurrentDictionary<string, int>();
        var open = new ConcurrentBag<ClientWebSocket>();
        using var invoker = Connector.CreateInvoker(new ConnectOptions());
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, sockets).Select(s => Task.Run(async () =>
        {
            var ids = string.Join('&', Enumerable.Range(0, perSocket).Select(i => $"camera_id=u{s:000}-{i:000}"));
            var uri = new Uri(t.WsBase, $"/v1/sources/sub-flood/video/stream?{ids}&format=binary&timeout=600");
            string outcome;
            try
            {
                var ws = await Connector.ConnectAsync(uri, invoker, new ConnectOptions(), ct);
                await ws.SendAsync(PlexusJson.BuildConsumerAuth(t.ApiKey), WebSocketMessageType.Text, true, ct);
                var init = await Connector.ReceiveTextAsync(ws, TimeSpan.FromSeconds(30), ct);
                outcome = init is not null && init.Contains("\"init\"", StringComparison.Ordinal) ? "init" : $"closed {(int?)ws.CloseStatus} {ws.CloseStatusDescription}";
                open.Add(ws);
            }
            catch (WebSocketException e) { outcome = UpgradeRefusal(e); }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { outcome = "no init in 30 s"; }
            outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
        }, CancellationToken.None)));
        var subscribedMs = sw.ElapsedMilliseconds;
        var rest = t.Duration - sw.Elapsed;
        if (rest > TimeSpan.Zero) await Task.Delay(rest, ct);
        var stillOpen = open.Count(w => w.State == WebSocketState.Open);
        foreach (var ws in open) Connector.AbortQuietly(ws);
        return $"{sockets} sockets × {perSocket} unknown camera ids in {subscribedMs} ms: " +
               string.Join(", ", outcomes.Select(o => $"{o.Key} ×{o.Value}")) + $"; {stillOpen} open when released";
    }

    private static async Task<string> HeldBodiesAsync(AttackTarget t, CancellationToken ct)
    {
        const int requests = 300, declared = 1_000_000, sent = 600_000;
        var body = new byte[sent];
        Random.Shared.NextBytes(body);
        body[0] = 0xFF;
        body[1] = 0xD8;
        var answers = new ConcurrentDictionary<string, int>();
        var sockets = new ConcurrentBag<Socket>();
        var readers = new ConcurrentBag<Task>();
        var sw = Stopwatch.StartNew();
        var sentBodies = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, requests), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (i, token) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            sockets.Add(socket);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, t.HttpBase.Port), token);
                var head = $"POST /v1/sources/held-robot/video/frames?camera_id=held{i} HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                           $"Authorization: Bearer {t.ApiKey}\r\nContent-Type: image/jpeg\r\nContent-Length: {declared}\r\n\r\n";
                await socket.SendAsync(Encoding.ASCII.GetBytes(head), SocketFlags.None, token);
                readers.Add(ReadAnswerAsync(socket, answers));
                using var sendTimeout = CancellationTokenSource.CreateLinkedTokenSource(token);
                sendTimeout.CancelAfter(TimeSpan.FromSeconds(5)); // a server that stops reading the body holds the rest in our buffer
                await socket.SendAsync(body, SocketFlags.None, sendTimeout.Token);
                Interlocked.Increment(ref sentBodies);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                answers.AddOrUpdate("send stopped", 1, (_, n) => n + 1);
            }
        });
        var holdingMs = sw.ElapsedMilliseconds;
        var rest = t.Duration - sw.Elapsed;
        if (rest > TimeSpan.Zero) await Task.Delay(rest, ct);
        var answeredWhileHeld = answers.Where(a => a.Key != "send stopped").Sum(a => a.Value);
        var summary = $"{requests} requests, {sentBodies} sent {sent:N0} of {declared:N0} body bytes within {holdingMs} ms, then held; " +
                      $"answered while held: {answeredWhileHeld}" +
                      (answers.IsEmpty ? "" : " (" + string.Join(", ", answers.Select(a => $"{a.Key} ×{a.Value}")) + ")");
        foreach (var s in sockets) s.Dispose();
        await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ContinueWith(_ => { }, CancellationToken.None);
        return summary;
    }

    private static async Task ReadAnswerAsync(Socket socket, ConcurrentDictionary<string, int> answers)
    {
        var buffer = new byte[512];
        try
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None);
            var text = Encoding.ASCII.GetString(buffer, 0, n);
            var key = n == 0 ? "closed" : text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && text.Length >= 12 ? "HTTP " + text[9..12] : "other";
            answers.AddOrUpdate(key, 1, (_, c) => c + 1);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            if (e is SocketException { SocketErrorCode: SocketError.ConnectionReset }) answers.AddOrUpdate("reset", 1, (_, c) => c + 1);
        }
    }

    private static string UpgradeRefusal(WebSocketException e)
    {
        // "The server returned status code '429' when status code '101' was expected."
        var m = System.Text.RegularExpressions.Regex.Match(e.Message, "status code '(\\d+)'");
        return m.Success ? $"HTTP {m.Groups[1].Value}" : "ws error: " + Short(e.Message, 40);
    }

    internal static string Short(string text, int max = 80)
    {
        text = text.ReplaceLineEndings(" ");
        return text.Length <= max ? text : text[..max] + "…";
    }

    /// <summary>A device socket of the hostile tenant that sends binary frames and tallies the server's replies.</summary>
    private sealed class HostileDevice : IAsyncDisposable
    {
        private readonly ClientWebSocket _ws;
        private readonly HttpMessageInvoker _invoker;
        private readonly ConcurrentDictionary<string, int> _replies = new();
        private readonly string _sourceId;
        private readonly Task _receiving;
        private long _lastTimestamp;
        private byte[] _buffer = [];

        private HostileDevice(ClientWebSocket ws, HttpMessageInvoker invoker, string sourceId)
        {
            _ws = ws;
            _invoker = invoker;
            _sourceId = sourceId;
            _receiving = Task.Run(ReceiveAsync);
        }

        public int ReplyCount => _replies.Values.Sum();

        public string? Closed { get; private set; }

        public static async Task<HostileDevice> ConnectAsync(AttackTarget t, string sourceId, CancellationToken ct)
        {
            var invoker = Connector.CreateInvoker(new ConnectOptions());
            var ws = await Connector.ConnectAsync(new Uri(t.WsBase, "/ws/device"), invoker, new ConnectOptions(WebSocketBufferBytes: 64 * 1024), ct);
            await ws.SendAsync(PlexusJson.BuildDeviceAuth(t.ApiKey, sourceId),
                WebSocketMessageType.Text, true, ct);
            var reply = await Connector.ReceiveTextAsync(ws, TimeSpan.FromSeconds(15), ct);
            if (reply is null || !reply.Contains("\"authenticated\"", StringComparison.Ordinal))
                throw new InvalidOperationException($"hostile device {sourceId}: not authenticated: {reply ?? "closed"}");
            return new HostileDevice(ws, invoker, sourceId);
        }

        public async Task SendFrameAsync(string cameraId, byte[] jpeg, int width, int height, CancellationToken ct)
        {
            var length = BinaryFrameCodec.HeaderLength(_sourceId, cameraId) + jpeg.Length;
            if (_buffer.Length < length) _buffer = new byte[length];
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            _lastTimestamp = Math.Max(now, _lastTimestamp + 1);
            var n = BinaryFrameCodec.WriteHeader(new BinaryFrameHeader(_sourceId, cameraId, width, height, _lastTimestamp), _buffer);
            jpeg.CopyTo(_buffer.AsSpan(n));
            await _ws.SendAsync(_buffer.AsMemory(0, length), WebSocketMessageType.Binary, true, ct);
        }

        /// <summary>Replies grouped by their first words, e.g. <c>frame rejected (TooLarge) ×8</c>.</summary>
        public string Replies()
        {
            var parts = _replies.OrderByDescending(r => r.Value).Select(r => $"'{r.Key}' ×{r.Value:N0}").ToList();
            if (Closed is not null) parts.Add($"closed {Closed}");
            return parts.Count == 0 ? "none" : string.Join(", ", parts);
        }

        private async Task ReceiveAsync()
        {
            var buffer = new byte[16 * 1024];
            try
            {
                while (_ws.State == WebSocketState.Open)
                {
                    var r = await _ws.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        Closed = $"{(int?)_ws.CloseStatus} {_ws.CloseStatusDescription}";
                        return;
                    }
                    if (!r.EndOfMessage || r.MessageType != WebSocketMessageType.Text) continue;
                    var key = "?";
                    try
                    {
                        using var doc = JsonDocument.Parse(buffer.AsMemory(0, r.Count));
                        var message = doc.RootElement.TryGetProperty("message", out var m) ? m.GetString() ?? "" : doc.RootElement.GetRawText();
                        key = Short(message, 40);
                    }
                    catch (JsonException) { key = "non-JSON reply"; }
                    _replies.AddOrUpdate(key, 1, (_, n) => n + 1);
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                Closed ??= "aborted: " + Short(e.Message, 40);
            }
        }

        public async ValueTask DisposeAsync()
        {
            Connector.AbortQuietly(_ws);
            await _receiving.WaitAsync(TimeSpan.FromSeconds(2)).ContinueWith(_ => { });
            _invoker.Dispose();
        }
    }
}
