using System.Net.WebSockets;
using OpenCvSharp;
using Router.Protocol;
using Router.Tests.EndToEnd;
using Router.Tests.Media;

namespace Router.Tests.Cluster;

/// <summary>
/// Many cameras streaming through a <see cref="LocalCluster"/>: one device WebSocket per source pushing real JPEG
/// frames (vtest.avi scaled to 384x288) for each of its cameras, and one consumer WebSocket per camera, on the other
/// gateway than its device (so every frame crosses node → gateway remoting). Every frame's arrival is recorded on
/// <see cref="RouterProcess.Clock"/>. Devices and consumers reconnect by themselves, trying the gateways in turn, and
/// count their reconnections, so a test can assert that a socket was never closed (node faults) or measure the gap a
/// reconnection costs (gateway restarts).
/// </summary>
internal sealed class CameraFleet : IAsyncDisposable
{
    private static readonly Lazy<IReadOnlyList<byte[]>> SmallFrames = new(() => LoadFrames(30));
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];

    /// <summary>One consumer WebSocket watching one camera.</summary>
    public sealed class Consumer(string sourceId, string cameraId, IReadOnlyList<Uri> gateways)
    {
        private readonly List<long> _arrivals = [];

        public string SourceId { get; } = sourceId;
        public string CameraId { get; } = cameraId;
        public IReadOnlyList<Uri> Gateways { get; } = gateways;

        /// <summary>How often the consumer had to open a new WebSocket after its first one (closed or lost).</summary>
        public int Reconnects { get; set; }

        /// <summary>Close codes (or "lost: …") of the sockets that ended.</summary>
        public List<string> Ends { get; } = [];

        public void Arrived(long atMs)
        {
            lock (_arrivals) _arrivals.Add(atMs);
        }

        public int CountSince(long fromMs)
        {
            lock (_arrivals) return _arrivals.Count(a => a > fromMs);
        }

        /// <summary>
        /// Largest gap between consecutive frames in [<paramref name="fromMs"/>, <paramref name="toMs"/>], counting from
        /// the last frame before the window and up to <paramref name="toMs"/> (so a stall that spans the window's edge
        /// counts whole, and one still going on at its end counts too).
        /// </summary>
        public long LargestGap(long fromMs, long toMs)
        {
            lock (_arrivals)
            {
                var before = _arrivals.Where(a => a < fromMs).DefaultIfEmpty(fromMs).Max();
                var points = _arrivals.Where(a => a >= fromMs && a <= toMs).Prepend(before).Append(toMs).ToList();
                return points.Zip(points.Skip(1), (a, b) => b - a).Max();
            }
        }
    }

    /// <summary>One device WebSocket pushing several cameras of one source.</summary>
    public sealed class Device(string sourceId, IReadOnlyList<string> cameras, IReadOnlyList<Uri> gateways)
    {
        public string SourceId { get; } = sourceId;
        public IReadOnlyList<string> Cameras { get; } = cameras;
        public IReadOnlyList<Uri> Gateways { get; } = gateways;
        public int Reconnects { get; set; }
        public long FramesSent;
    }

    public List<Device> Devices { get; } = [];

    public List<Consumer> Consumers { get; } = [];

    public int CameraCount => Consumers.Count;

    /// <summary>
    /// Starts <paramref name="sources"/> devices with <paramref name="camerasPerSource"/> cameras each at
    /// <paramref name="fps"/>, and a consumer per camera; device i connects to gateway i mod 2 first, its consumers
    /// to the other gateway.
    /// </summary>
    public static CameraFleet Start(LocalCluster cluster, int sources, int camerasPerSource, int fps)
    {
        var fleet = new CameraFleet();
        var gateways = cluster.Gateways.Select(g => new Uri($"ws://127.0.0.1:{g.HttpPort}")).ToList();
        for (var s = 0; s < sources; s++)
        {
            var home = s % gateways.Count;
            IReadOnlyList<Uri> deviceOrder = [.. gateways.Skip(home), .. gateways.Take(home)];
            IReadOnlyList<Uri> consumerOrder = [.. deviceOrder.Skip(1), deviceOrder[0]];
            var cameras = Enumerable.Range(0, camerasPerSource).Select(c => $"cam-{c}").ToList();
            var device = new Device($"fleet-{s:00}", cameras, deviceOrder);
            fleet.Devices.Add(device);
            fleet._tasks.Add(Task.Run(() => fleet.RunDeviceAsync(device, fps)));
            foreach (var camera in cameras)
            {
                var consumer = new Consumer(device.SourceId, camera, consumerOrder);
                fleet.Consumers.Add(consumer);
                fleet._tasks.Add(Task.Run(() => fleet.RunConsumerAsync(consumer)));
            }
        }
        return fleet;
    }

    /// <summary>Waits until every consumer has a frame that arrived after <paramref name="sinceMs"/>.</summary>
    public async Task WaitAllFlowingAsync(long sinceMs, TimeSpan timeout)
    {
        var deadline = RouterProcess.Clock.ElapsedMilliseconds + (long)timeout.TotalMilliseconds;
        while (Consumers.Any(c => c.CountSince(sinceMs) == 0))
        {
            if (RouterProcess.Clock.ElapsedMilliseconds > deadline)
                throw new TimeoutException($"cameras without frames after {timeout.TotalSeconds} s: " +
                                           string.Join(", ", Consumers.Where(c => c.CountSince(sinceMs) == 0).Select(c => $"{c.SourceId}/{c.CameraId}")));
            await Task.Delay(100);
        }
    }

    /// <summary>Total reconnections of the consumers and of the devices.</summary>
    public (int Consumers, int Devices) Reconnects => (Consumers.Sum(c => c.Reconnects), Devices.Sum(d => d.Reconnects));

    /// <summary>The largest gap of each consumer over a window, worst first.</summary>
    public List<(Consumer Consumer, long GapMs)> Gaps(long fromMs, long toMs) =>
        Consumers.Select(c => (c, c.LargestGap(fromMs, toMs))).OrderByDescending(g => g.Item2).ToList();

    /// <summary>A one-line summary of <see cref="Gaps"/>: worst, median, and how many consumers exceeded 2 s.</summary>
    public static string Describe(List<(Consumer Consumer, long GapMs)> gaps)
    {
        var sorted = gaps.Select(g => g.GapMs).Order().ToList();
        var worst = gaps[0];
        return $"largest gap per consumer: max {worst.GapMs} ms ({worst.Consumer.SourceId}/{worst.Consumer.CameraId}), " +
               $"median {sorted[sorted.Count / 2]} ms, over 2 s: {sorted.Count(g => g > 2000)} of {sorted.Count}";
    }

    private async Task RunDeviceAsync(Device device, int fps)
    {
        var frames = SmallFrames.Value;
        var index = 0;
        var gateway = 0;
        var first = true;
        while (!_stop.IsCancellationRequested)
        {
            var url = new Uri(device.Gateways[gateway], "/ws/device");
            try
            {
                await using var ws = await WsClient.ConnectAsync(url);
                await ws.SendJsonAsync(new { type = "device_auth", api_key = LocalCluster.AcmeKey, source_id = device.SourceId, platform = "test" });
                var auth = await ws.ReceiveAsync(TimeSpan.FromSeconds(10));
                if (auth.Type != WebSocketMessageType.Text || auth.Json.GetProperty("type").GetString() != "authenticated")
                    throw new WebSocketException($"device auth: {auth.CloseStatus} {auth.CloseReason}");
                if (!first) device.Reconnects++;
                first = false;
                // Replies (flow-control notices) are read and dropped; a close ends the send loop.
                using var connection = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                var reading = Task.Run(async () =>
                {
                    try
                    {
                        while (!connection.IsCancellationRequested)
                            if ((await ws.ReceiveAsync(TimeSpan.FromSeconds(600))).CloseStatus is not null) break;
                    }
                    catch (Exception) { }
                    await connection.CancelAsync();
                });
                using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(1000.0 / fps));
                while (await tick.WaitForNextTickAsync(connection.Token))
                {
                    var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                    var jpeg = frames[index++ % frames.Count];
                    foreach (var camera in device.Cameras)
                        await ws.SendBinaryAsync(WsClient.BinaryFrame(device.SourceId, camera, jpeg, now));
                    Interlocked.Add(ref device.FramesSent, device.Cameras.Count);
                }
            }
            catch (Exception) when (!_stop.IsCancellationRequested)
            {
                // Lost or refused: the next gateway, after a short pause (as the CLI's backoff starts at 0.5 s).
            }
            catch (Exception) { return; }
            if (_stop.IsCancellationRequested) return;
            gateway = (gateway + 1) % device.Gateways.Count;
            await Task.Delay(500, _stop.Token).ContinueWith(_ => { });
        }
    }

    private async Task RunConsumerAsync(Consumer consumer)
    {
        var gateway = 0;
        var first = true;
        while (!_stop.IsCancellationRequested)
        {
            var url = new Uri(consumer.Gateways[gateway],
                $"/v1/sources/{consumer.SourceId}/video/stream?camera_id={consumer.CameraId}&format=binary&timeout=3600");
            try
            {
                await using var ws = await WsClient.ConnectAsync(url);
                await ws.SendJsonAsync(new { type = "auth", api_key = LocalCluster.AcmeKey });
                if (!first) consumer.Reconnects++;
                first = false;
                while (!_stop.IsCancellationRequested)
                {
                    var m = await ws.ReceiveAsync(TimeSpan.FromSeconds(600));
                    if (m.CloseStatus is not null)
                    {
                        consumer.Ends.Add($"{m.CloseStatus} {m.CloseReason}");
                        break;
                    }
                    if (m.Type == WebSocketMessageType.Binary && BinaryFrameCodec.TryDecode(m.Data, out _, out _, out _))
                        consumer.Arrived(RouterProcess.Clock.ElapsedMilliseconds);
                }
            }
            catch (Exception e) when (!_stop.IsCancellationRequested)
            {
                consumer.Ends.Add($"lost: {e.Message}");
            }
            catch (Exception) { return; }
            if (_stop.IsCancellationRequested) return;
            gateway = (gateway + 1) % consumer.Gateways.Count;
            await Task.Delay(500, _stop.Token).ContinueWith(_ => { });
        }
    }

    private static IReadOnlyList<byte[]> LoadFrames(int count)
    {
        using var capture = new VideoCapture(TestMedia.SharedMediaPath("vtest.avi"));
        if (!capture.IsOpened()) throw new InvalidOperationException("cannot open vtest.avi");
        var frames = new List<byte[]>(count);
        using var mat = new Mat();
        using var small = new Mat();
        while (frames.Count < count && capture.Read(mat) && !mat.Empty())
        {
            Cv2.Resize(mat, small, new Size(384, 288));
            frames.Add(small.ImEncode(".jpg", new ImageEncodingParam(ImwriteFlags.JpegQuality, 80)));
        }
        return frames;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_tasks).WaitAsync(TimeSpan.FromSeconds(15)).ContinueWith(_ => { });
        _stop.Dispose();
    }
}
