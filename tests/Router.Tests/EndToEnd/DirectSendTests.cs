using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Router.Actors.Metrics;
using Router.Gateway.Security;
using Router.Protocol;
using Router.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Router.Tests.EndToEnd;

/// <summary>
/// The direct send path of consumer WebSockets (<c>Router:Gateway:DirectSend</c>, DirectSendStream) on real Kestrel:
/// the same bytes on the wire as through Kestrel's pipe, the path really taken, and hostile consumers (one that stops
/// reading, one that pipelines its auth frame behind the upgrade request) affect only themselves. Two standalone
/// Routers, one with DirectSend on (the default) and one with it off, each with a tenant of its own so that the
/// process-wide metrics can be told apart.
/// </summary>
public sealed class DirectSendTests(DirectSendTests.Hosts hosts, ITestOutputHelper output) : IClassFixture<DirectSendTests.Hosts>
{
    public const string OnKey = "dsend-on-key-0123456789";
    public const string OffKey = "dsend-off-key-0123456789";
    public const string OnTenant = "dsend-on";
    public const string OffTenant = "dsend-off";

    /// <summary>Router with DirectSend on (default) for tenant <c>dsend-on</c>, and one with it off for <c>dsend-off</c>.</summary>
    public sealed class Hosts : IAsyncLifetime
    {
        public RouterHost On { get; } = new(TenantKey(OnKey, OnTenant));

        public RouterHost Off { get; } = new([.. TenantKey(OffKey, OffTenant), "--Router:Gateway:DirectSend=false"]);

        internal static string[] TenantKey(string key, string tenant) =>
        [
            $"--Router:ApiKeys:4:Sha256={ApiKeyStore.HashKey(key)}", $"--Router:ApiKeys:4:Tenant={tenant}",
            "--Router:ApiKeys:4:Scopes:0=ingest", "--Router:ApiKeys:4:Scopes:1=view",
        ];

        public Task InitializeAsync() => Task.WhenAll(On.InitializeAsync(), Off.InitializeAsync());

        public async Task DisposeAsync()
        {
            await On.DisposeAsync();
            await Off.DisposeAsync();
        }
    }

    private const string Camera = "cam";

    /// <summary>Frame <paramref name="i"/>: a real JPEG made unique by a COM segment naming <paramref name="i"/> (so a bare-JPEG message says which frame it is).</summary>
    private static byte[] Jpeg(int i)
    {
        var jpeg = TestFrames.Vtest[i % TestFrames.Vtest.Count];
        var comment = Encoding.ASCII.GetBytes($"direct-send frame {i}");
        var length = comment.Length + 2;
        return [.. jpeg.AsSpan(0, 2), 0xFF, 0xFE, (byte)(length >> 8), (byte)length, .. comment, .. jpeg.AsSpan(2)];
    }

    private static byte[] AuthFrame(string key) => RawWsClient.ClientFrame(RawWsClient.Text, JsonSerializer.SerializeToUtf8Bytes(new { type = "auth", api_key = key }));

    /// <summary>Opens a raw consumer, authenticates and returns it after the init message.</summary>
    private static async Task<RawWsClient> RawConsumerAsync(RouterHost host, string key, string source, string query, int? receiveBufferBytes = null)
    {
        var consumer = await RawWsClient.ConnectAsync(host.HttpBase, $"/v1/sources/{source}/video/stream{query}", receiveBufferBytes);
        Assert.True(consumer.Upgraded, consumer.Head);
        await consumer.Socket.SendAsync(AuthFrame(key));
        var init = await consumer.ReceiveAsync();
        Assert.True(init is { Opcode: RawWsClient.Text }, $"expected init, got {init?.Opcode}");
        Assert.Equal("init", JsonDocument.Parse(init!.Payload).RootElement.GetProperty("type").GetString());
        return consumer;
    }

    /// <summary>Pushes frame i (i = 0, 1, …) to every device every 50 ms until cancelled; <paramref name="pushed"/> counts them.</summary>
    private static async Task PushAsync(IReadOnlyList<(WsClient Device, string Source)> devices, long baseTs, StrongCount pushed, CancellationToken stop)
    {
        using var clock = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var jpeg = Jpeg(i);
            foreach (var (device, source) in devices) await device.SendBinaryAsync(WsClient.BinaryFrame(source, Camera, jpeg, baseTs + i));
            pushed.Increment();
            try { await clock.WaitForNextTickAsync(stop); } catch (OperationCanceledException) { }
        }
    }

    private sealed class StrongCount
    {
        private long _value;

        public long Value => Interlocked.Read(ref _value);

        public void Increment() => Interlocked.Increment(ref _value);
    }

    /// <summary>Counts <c>router.consumer.direct_streams</c> by tenant while alive.</summary>
    private sealed class DirectStreams : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, long> _byTenant = new();

        public DirectStreams()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == RouterMeter.Name && instrument.Name == "router.consumer.direct_streams") listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                    if (tag.Key == "tenant")
                        _byTenant.AddOrUpdate((string)tag.Value!, value, (_, old) => old + value);
            });
            _listener.Start();
        }

        public long Of(string tenant) => _byTenant.GetValueOrDefault(tenant);

        public void Dispose() => _listener.Dispose();
    }

    private static async Task AwaitAsync(Func<Task<bool>> condition, TimeSpan within, string what)
    {
        var deadline = WaitDeadline.In(within);
        while (!await condition())
        {
            if (deadline.Passed) throw new TimeoutException($"{what}: not within {within.TotalSeconds} s");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Direct_and_Kestrel_consumers_receive_byte_identical_frames_on_the_wire_and_the_direct_path_is_taken()
    {
        using var direct = new DirectStreams();
        const string source = "dsend-same";
        var formats = new[] { "jpeg", "json", "binary" };
        await using var onDevice = await WsClient.DeviceAsync(hosts.On, OnKey, source);
        await using var offDevice = await WsClient.DeviceAsync(hosts.Off, OffKey, source);
        var consumers = new List<(string Host, string Format, RawWsClient Client)>();
        try
        {
            foreach (var format in formats)
            {
                consumers.Add(("on", format, await RawConsumerAsync(hosts.On, OnKey, source, $"?camera_id={Camera}&format={format}")));
                consumers.Add(("off", format, await RawConsumerAsync(hosts.Off, OffKey, source, $"?camera_id={Camera}&format={format}")));
            }
            var baseTs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            // What frame i must look like on the wire, whole (header and payload), by format: i by the SHA-256 of those
            // bytes, for more frames than 20 fps can push before the deadline below.
            static string Hash(byte[] wire) => Convert.ToHexString(SHA256.HashData(wire));
            var expected = formats.ToDictionary(f => f, _ => new Dictionary<string, int>());
            for (var i = 0; i < 25 * 20 + 50; i++)
            {
                var jpeg = Jpeg(i);
                var ts = baseTs + i;
                expected["jpeg"][Hash(WebSocketFraming.Frame(text: false, jpeg))] = i;
                expected["json"][Hash(WebSocketFraming.Frame(text: true,
                    PlexusJson.BuildVideoFrame(source, Camera, jpeg, TestFrames.Width, TestFrames.Height, ts)))] = i;
                expected["binary"][Hash(WebSocketFraming.Frame(text: false,
                    BinaryFrameCodec.Encode(new BinaryFrameHeader(source, Camera, TestFrames.Width, TestFrames.Height, ts), jpeg)))] = i;
            }

            const int wanted = 8;
            var received = consumers.Select(c => Task.Run(async () =>
            {
                var indexes = new List<int>();
                while (indexes.Count < wanted)
                {
                    var frame = await c.Client.ReceiveAsync(TimeSpan.FromSeconds(20));
                    Assert.True(frame is not null, $"{c.Host}/{c.Format}: the connection ended");
                    Assert.True(expected[c.Format].TryGetValue(Hash(frame!.Wire), out var index),
                        $"{c.Host}/{c.Format}: a message that is not the expected framing of a pushed frame (opcode {frame.Opcode}, {frame.Wire.Length} bytes)");
                    if (indexes.Count > 0) Assert.True(index > indexes[^1], $"{c.Host}/{c.Format}: frame {index} after {indexes[^1]}");
                    indexes.Add(index);
                }
                return indexes;
            })).ToList();
            using var stop = new CancellationTokenSource();
            var pushing = PushAsync([(onDevice, source), (offDevice, source)], baseTs, new StrongCount(), stop.Token);
            List<int>[] indexes;
            try
            {
                indexes = await Task.WhenAll(received).WaitAsync(TimeSpan.FromSeconds(25));
            }
            finally
            {
                stop.Cancel();
                await pushing;
            }
            for (var k = 0; k < consumers.Count; k++)
                output.WriteLine($"{consumers[k].Host}/{consumers[k].Format}: frames {string.Join(",", indexes[k])}");

            // The direct path was taken by the three consumers of the DirectSend host, and by none of the other's.
            Assert.Equal(3, direct.Of(OnTenant));
            Assert.Equal(0, direct.Of(OffTenant));
        }
        finally
        {
            foreach (var c in consumers) await c.Client.DisposeAsync();
        }
    }

    /// <summary>The server's unsent and unacknowledged bytes on the connection server port → client port (Linux <c>/proc/net/tcp</c> tx_queue), or -1.</summary>
    private static long ServerSendQueue(int serverPort, int clientPort)
    {
        var local = $"0100007F:{serverPort:X4}";
        var remote = $"0100007F:{clientPort:X4}";
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 4 && fields[1] == local && fields[2] == remote)
                return long.Parse(fields[4].Split(':')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }
        return -1;
    }

    private static async Task<double> OpenConsumersAsync(RouterHost host, string tenant)
    {
        using var http = host.Http();
        return PrometheusText.Sum(await http.GetStringAsync("/metrics"), "router_router_consumer_connections", ("tenant", tenant));
    }

    [Fact]
    public async Task A_consumer_that_stops_reading_holds_up_no_other_consumer_and_is_released_after_its_timeout()
    {
        const string source = "dsend-stall";
        const int timeoutSeconds = 3;
        var host = hosts.On;
        await using var device = await WsClient.DeviceAsync(host, OnKey, source);
        var (good, _) = await WsClient.ConsumerAsync(host, OnKey, source, $"?camera_id={Camera}&format=jpeg");
        await using var g = good;
        using var stop = new CancellationTokenSource();
        var pushed = new StrongCount();
        var goodFrames = new StrongCount();
        var receiving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var m = await good.ReceiveAsync(TimeSpan.FromSeconds(10));
                Assert.Null(m.CloseStatus);
                if (m.Type == WebSocketMessageType.Binary) goodFrames.Increment();
            }
        });
        var pushing = PushAsync([(device, source)], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), pushed, stop.Token);
        try
        {
            await AwaitAsync(() => Task.FromResult(goodFrames.Value >= 3), TimeSpan.FromSeconds(15), "the good consumer receives frames");
            var openBefore = await OpenConsumersAsync(host, OnTenant);

            // format=json: the largest messages (~100 KB), so its socket buffers fill in a few frames.
            await using var stalled = await RawWsClient.ConnectAsync(host.HttpBase,
                $"/v1/sources/{source}/video/stream?camera_id={Camera}&format=json&timeout={timeoutSeconds}", receiveBufferBytes: 4096);
            Assert.True(stalled.Upgraded, stalled.Head);
            await stalled.Socket.SendAsync(AuthFrame(OnKey));
            var since = Stopwatch.StartNew(); // from here the client never reads
            var clientPort = ((IPEndPoint)stalled.Socket.LocalEndPoint!).Port;

            // The server has frames for it that TCP cannot deliver (the client's window is shut).
            long queued = 0;
            await AwaitAsync(() => Task.FromResult((queued = Math.Max(queued, ServerSendQueue(host.HttpBase.Port, clientPort))) >= 100_000),
                TimeSpan.FromSeconds(timeoutSeconds), "the server's send queue to the stalled consumer fills");
            var (pushedAtStall, goodAtStall, stalledAt) = (pushed.Value, goodFrames.Value, since.Elapsed);
            Assert.Equal(openBefore + 1, await OpenConsumersAsync(host, OnTenant));

            // Released: its handler ends (the tenant's open consumer gauge goes back down) soon after the timeout.
            // timeout, then up to SendDrainTimeout for the blocked send, then the abort: a bit over timeout + SendDrainTimeout.
            var drain = Router.Gateway.Streaming.ConsumerWebSocketEndpoint.SendDrainTimeout.TotalSeconds;
            var deadline = TimeSpan.FromSeconds(timeoutSeconds + drain + 1.5);
            await AwaitAsync(async () => await OpenConsumersAsync(host, OnTenant) == openBefore, deadline - since.Elapsed + TimeSpan.FromSeconds(1),
                "the stalled consumer is released");
            var releasedAt = since.Elapsed;
            var (pushedDuring, goodDuring) = (pushed.Value - pushedAtStall, goodFrames.Value - goodAtStall);
            output.WriteLine($"send queue {queued} bytes at {stalledAt.TotalSeconds:F1} s; released {releasedAt.TotalSeconds:F1} s after auth (timeout {timeoutSeconds} s); " +
                             $"good consumer meanwhile {goodDuring} of {pushedDuring} frames");
            Assert.True(releasedAt <= deadline, $"released after {releasedAt.TotalSeconds:F1} s");
            // The other consumer of the camera kept up with the camera while the stalled one was stuck.
            Assert.True(pushedDuring >= 10, $"only {pushedDuring} frames pushed while stalled");
            Assert.True(goodDuring >= pushedDuring * 0.6, $"the good consumer got {goodDuring} of {pushedDuring} frames");

            // The server ended the TCP connection too: the stalled client reads what was queued, then the end.
            var rest = await stalled.DrainToEndAsync(TimeSpan.FromSeconds(10));
            output.WriteLine($"stalled client drained {rest} bytes, then the connection ended");
            Assert.False(receiving.IsCompleted, "the good consumer is still receiving");
        }
        finally
        {
            stop.Cancel();
            await pushing;
        }
    }

    [Fact]
    public async Task An_auth_frame_pipelined_with_the_upgrade_request_works_and_affects_no_other_consumer()
    {
        const string source = "dsend-pipelined";
        const int attempts = 10;
        var host = hosts.On;
        using var direct = new DirectStreams();
        await using var device = await WsClient.DeviceAsync(host, OnKey, source);
        await using var other = await RawConsumerAsync(host, OnKey, source, $"?camera_id={Camera}&format=binary");
        using var stop = new CancellationTokenSource();
        var pushing = PushAsync([(device, source)], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), new StrongCount(), stop.Token);
        var outcomes = new List<string>();
        try
        {
            for (var attempt = 0; attempt < attempts; attempt++)
            {
                await using var pipelined = await RawWsClient.ConnectAsync(host.HttpBase,
                    $"/v1/sources/{source}/video/stream?camera_id={Camera}&format=binary", pipelined: AuthFrame(OnKey));
                if (!pipelined.Upgraded)
                {
                    // Only acceptable garbling: the init came before the 101 (direct write overtook Kestrel's pipe).
                    // What else may happen: the init (and maybe frames) went straight to the socket while Kestrel still
                    // held the 101 in its pipe, so the 101 arrives after them. Only the order is wrong: the head ends with the 101.
                    var head = pipelined.Head;
                    var at = head.IndexOf("HTTP/1.1 101 ", StringComparison.Ordinal);
                    Assert.True(at > 0 && head[0] == (char)0x81, $"attempt {attempt}: {head.Length} bytes of something else: " +
                        string.Concat(head.Take(200).Select(ch => ch is >= ' ' and <= '~' ? ch.ToString() : $"\\x{(int)ch:X2}")));
                    Assert.EndsWith("\r\n\r\n", head);
                    output.WriteLine($"attempt {attempt}: {at} bytes of WebSocket frames before the 101");
                    outcomes.Add("init before 101");
                    continue;
                }
                var init = await pipelined.ReceiveAsync();
                Assert.True(init is { Opcode: RawWsClient.Text }, $"attempt {attempt}: expected init, got {init?.Opcode}");
                Assert.Equal("init", JsonDocument.Parse(init!.Payload).RootElement.GetProperty("type").GetString());
                var frame = await pipelined.ReceiveAsync(TimeSpan.FromSeconds(15));
                Assert.True(frame is { Opcode: RawWsClient.Binary, Fin: true, Masked: false }, $"attempt {attempt}: expected a frame, got {frame?.Opcode}");
                Assert.True(BinaryFrameCodec.TryDecode(frame!.Payload, out var header, out _, out var error), error);
                Assert.Equal((source, Camera), (header.SourceId, header.CameraId));
                outcomes.Add("ok");

                // The other consumer is unaffected: its next frame arrives whole.
                var next = await other.ReceiveAsync(TimeSpan.FromSeconds(15));
                Assert.True(next is { Opcode: RawWsClient.Binary, Fin: true }, $"the other consumer got {next?.Opcode}");
            }
        }
        finally
        {
            stop.Cancel();
            await pushing;
        }
        output.WriteLine(string.Join(", ", outcomes.GroupBy(o => o).Select(o => $"{o.Key}: {o.Count()}")));
        Assert.Equal(attempts, outcomes.Count);
        // Every pipelined consumer that streamed went direct, and so did the other one (a reordered one may have too).
        Assert.InRange(direct.Of(OnTenant), outcomes.Count(o => o == "ok") + 1, attempts + 1);
    }

    /// <summary>Captures the Error entries of the gateway's consumer endpoint.</summary>
    private sealed class ErrorLog : ILoggerProvider
    {
        public ConcurrentQueue<string> Errors { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose() { }

        private sealed class Logger(ErrorLog log, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (logLevel >= LogLevel.Error && category.EndsWith("ConsumerWebSocketEndpoint", StringComparison.Ordinal))
                    log.Errors.Enqueue($"{formatter(state, exception)}: {exception?.GetType().Name} {exception?.Message}");
            }
        }
    }

    [Fact]
    public async Task A_direct_consumer_that_resets_its_connection_during_a_send_is_released_quietly()
    {
        const string source = "dsend-reset";
        var host = hosts.On;
        var log = new ErrorLog();
        host.Services.GetRequiredService<ILoggerFactory>().AddProvider(log);
        await using var device = await WsClient.DeviceAsync(host, OnKey, source);
        using var stop = new CancellationTokenSource();
        var pushing = PushAsync([(device, source)], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), new StrongCount(), stop.Token);
        try
        {
            for (var round = 0; round < 3; round++)
            {
                var openBefore = await OpenConsumersAsync(host, OnTenant);
                var leaving = await RawConsumerAsync(host, OnKey, source, $"?camera_id={Camera}&format=json", receiveBufferBytes: 4096);
                var clientPort = ((IPEndPoint)leaving.Socket.LocalEndPoint!).Port;
                // It stops reading until the server's send to it blocks (its queue stops growing over 4 frame intervals
                // while frames flow), then resets the connection (RST, as a killed client does).
                var (last, same) = (-1L, 0);
                await AwaitAsync(() =>
                {
                    var queued = ServerSendQueue(host.HttpBase.Port, clientPort);
                    (last, same) = (queued, queued == last && queued >= 100_000 ? same + 1 : 0);
                    return Task.FromResult(same >= 4);
                }, TimeSpan.FromSeconds(15), "the server's send to the consumer blocks");
                leaving.Socket.LingerState = new LingerOption(true, 0);
                await leaving.DisposeAsync();
                await AwaitAsync(async () => await OpenConsumersAsync(host, OnTenant) == openBefore, TimeSpan.FromSeconds(10), "the consumer is released");
            }
        }
        finally
        {
            stop.Cancel();
            await pushing;
        }
        // The endpoint logs a failure after it released the consumer: give it 2 s to show up.
        await Assert.ThrowsAsync<TimeoutException>(() => AwaitAsync(() => Task.FromResult(!log.Errors.IsEmpty), TimeSpan.FromSeconds(2), "an error log"));
        Assert.True(log.Errors.IsEmpty, "a client going away is not a server error:\n" + string.Join("\n", log.Errors));
    }

    [Fact]
    public async Task Keep_alive_pings_go_between_whole_frames_on_the_direct_path_and_a_peer_that_never_answers_is_dropped()
    {
        const string source = "dsend-keepalive";
        var host = new RouterHost([.. Hosts.TenantKey(OnKey, OnTenant), "--Router:Gateway:PingInterval=00:00:01", "--Router:Gateway:PingTimeout=00:00:01"]);
        await host.InitializeAsync();
        try
        {
            using var direct = new DirectStreams();
            await using var device = await WsClient.DeviceAsync(host, OnKey, source);
            await using var answering = await RawConsumerAsync(host, OnKey, source, $"?camera_id={Camera}&format=binary");
            await using var silent = await RawConsumerAsync(host, OnKey, source, $"?camera_id={Camera}&format=jpeg");
            using var stop = new CancellationTokenSource();
            var pushing = PushAsync([(device, source)], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), new StrongCount(), stop.Token);
            try
            {
                // Answers 3 pings; every other frame in between is a whole frame message.
                var answered = Task.Run(async () =>
                {
                    var (pings, frames) = (0, 0);
                    while (pings < 3)
                    {
                        var frame = await answering.ReceiveAsync(TimeSpan.FromSeconds(10));
                        Assert.True(frame is not null, $"the server dropped a peer that answers pings (after {pings} pings, {frames} frames)");
                        if (frame!.Opcode == RawWsClient.Ping)
                        {
                            await answering.SendAsync(RawWsClient.Pong, frame.Payload);
                            pings++;
                            continue;
                        }
                        Assert.True(frame is { Opcode: RawWsClient.Binary, Fin: true, Masked: false } && BinaryFrameCodec.TryDecode(frame.Payload, out _, out _, out _),
                            $"expected a whole binary frame message, got opcode {frame.Opcode}");
                        frames++;
                    }
                    return frames;
                });
                // Reads everything (so no send blocks) but never answers: dropped within the ping interval + timeout.
                var dropped = Task.Run(async () =>
                {
                    var pings = 0;
                    while (await silent.ReceiveAsync(TimeSpan.FromSeconds(10)) is { } frame)
                    {
                        Assert.True(frame.Opcode is RawWsClient.Ping or RawWsClient.Binary, $"unexpected opcode {frame.Opcode}");
                        if (frame.Opcode == RawWsClient.Ping) pings++;
                    }
                    return pings;
                });
                var framesBetweenPings = await answered.WaitAsync(TimeSpan.FromSeconds(20));
                var silentPings = await dropped.WaitAsync(TimeSpan.FromSeconds(20));
                output.WriteLine($"answering peer: {framesBetweenPings} frames around 3 pings; silent peer dropped after {silentPings} ping(s)");
                Assert.True(framesBetweenPings >= 5, $"only {framesBetweenPings} frames flowed");
                Assert.True(silentPings >= 1, "the silent peer was dropped without a ping");
            }
            finally
            {
                stop.Cancel();
                await pushing;
            }
            Assert.Equal(2, direct.Of(OnTenant));
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    [Fact]
    public async Task Over_the_direct_path_frames_stay_whole_up_to_the_4008_timeout_close_and_a_client_close_gets_1000()
    {
        const string source = "dsend-close";
        var host = hosts.On;
        using var direct = new DirectStreams();
        await using var device = await WsClient.DeviceAsync(host, OnKey, source);
        await using var timingOut = await RawConsumerAsync(host, OnKey, source, $"?camera_id={Camera}&format=binary&timeout=2");
        await using var closing = await RawConsumerAsync(host, OnKey, source, $"?camera_id={Camera}&format=json");
        using var stop = new CancellationTokenSource();
        var pushing = PushAsync([(device, source)], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), new StrongCount(), stop.Token);
        try
        {
            // Frames while they flow, each one whole, then the server's close 4008 "stream timeout".
            var frames = 0;
            RawFrame? close;
            while ((close = await timingOut.ReceiveAsync(TimeSpan.FromSeconds(10))) is { Opcode: RawWsClient.Binary } frame)
            {
                Assert.True(frame.Fin && !frame.Masked && BinaryFrameCodec.TryDecode(frame.Payload, out _, out _, out _), "a whole binary frame message");
                frames++;
            }
            Assert.True(close is { Opcode: RawWsClient.Close }, $"expected the close, got {close?.Opcode}");
            Assert.Equal((4008, "stream timeout"), RawWsClient.ReadClose(close!));
            Assert.True(frames >= 3, $"only {frames} frames before the timeout");
            await timingOut.SendAsync(RawWsClient.Close, close!.Payload);
            await timingOut.DrainToEndAsync(TimeSpan.FromSeconds(5));

            // A client close in the middle of the stream: the server answers 1000 after whole messages, then ends the connection.
            for (var got = 0; got < 3; got++)
            {
                var frame = await closing.ReceiveAsync();
                Assert.True(frame is { Opcode: RawWsClient.Text, Fin: true }, $"expected a JSON frame message, got {frame?.Opcode}");
            }
            await closing.SendAsync(RawWsClient.Close, RawWsClient.ClosePayload(1000, "done"));
            RawFrame? reply;
            while ((reply = await closing.ReceiveAsync(TimeSpan.FromSeconds(10))) is { Opcode: RawWsClient.Text } late)
                Assert.Equal("video_frame", JsonDocument.Parse(late.Payload).RootElement.GetProperty("type").GetString());
            Assert.True(reply is { Opcode: RawWsClient.Close }, $"expected the server's close, got {reply?.Opcode}");
            Assert.Equal(1000, RawWsClient.ReadClose(reply!).Code);
            await closing.DrainToEndAsync(TimeSpan.FromSeconds(5));
        }
        finally
        {
            stop.Cancel();
            await pushing;
        }
        Assert.Equal(2, direct.Of(OnTenant));
    }
}
