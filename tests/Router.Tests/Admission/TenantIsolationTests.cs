using System.Diagnostics;
using System.Net.WebSockets;
using OpenCvSharp;
using Router.Tests.EndToEnd;
using Router.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Router.Tests.Admission;

/// <summary>One tenant at its limits on a real Kestrel (default limits) leaves another tenant's stream flowing.</summary>
[Collection(TenantFloodCollection.Name)]
public sealed class TenantIsolationTests(ITestOutputHelper output)
{
    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    [Fact]
    public async Task A_tenant_flooding_frames_and_subscriptions_at_its_limits_leaves_another_tenants_stream_flowing()
    {
        await using var own = await OwnHost.StartAsync();
        var host = own.Host;
        using var small = new Mat(48, 64, MatType.CV_8UC3, Scalar.All(128));
        var tiny = small.ImEncode(".jpg");
        using var stop = new CancellationTokenSource();

        // Tenant B (globex): one camera at 10 fps, watched by one consumer.
        await using var bDevice = await WsClient.DeviceAsync(host, RouterHost.GlobexKey, "steady");
        var (bConsumer, _) = await WsClient.ConsumerAsync(host, RouterHost.GlobexKey, "steady", "?camera_id=front&format=binary");
        await using var bc = bConsumer;
        var clock = Stopwatch.StartNew();
        var arrivals = new List<long>();
        var sends = new List<long>();
        var receiving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                WsMessage m;
                try { m = await bConsumer.ReceiveAsync(TimeSpan.FromSeconds(30)); }
                catch (Exception) when (stop.IsCancellationRequested) { return; }
                if (m.CloseStatus is not null) return;
                if (m.Type == WebSocketMessageType.Binary) lock (arrivals) arrivals.Add(clock.ElapsedMilliseconds);
            }
        });
        async Task<int> SendB(TimeSpan duration)
        {
            using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
            var sent = 0;
            var end = clock.Elapsed + duration;
            while (clock.Elapsed < end)
            {
                await bDevice.SendBinaryAsync(WsClient.BinaryFrame("ignored", "front", TestFrames.Vtest[sent % TestFrames.Vtest.Count], Now));
                lock (sends) sends.Add(clock.ElapsedMilliseconds);
                sent++;
                await tick.WaitForNextTickAsync();
            }
            return sent;
        }
        // Warm-up: tenant B's subscription is live once its first frame arrives (a cold process may take more than a
        // second: send in 1 s rounds, for at most 10 s).
        bool Arrived() { lock (arrivals) return arrivals.Count > 0; }
        var warmUp = Stopwatch.StartNew();
        do await SendB(TimeSpan.FromSeconds(1));
        while (!Arrived() && warmUp.Elapsed < TimeSpan.FromSeconds(10));
        lock (arrivals) Assert.NotEmpty(arrivals);

        // Tenant A (acme): a device flooding 16 cameras at 2,000 messages/s (limit 500/s) and consumers subscribing to
        // 64 unknown cameras each, as fast as they are admitted (limit 2,000 at once, then 200/s).
        await using var aDevice = await WsClient.DeviceAsync(host, RouterHost.AcmeKey, "flood");
        var rateLimited = 0;
        var aReplies = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var m = await aDevice.ReceiveAsync(TimeSpan.FromSeconds(30));
                    if (m.CloseStatus is not null) return;
                    if (m.Type == WebSocketMessageType.Text && m.Text.Contains("rate_limited")) Interlocked.Increment(ref rateLimited);
                }
                catch (Exception) { return; }
            }
        });
        var aFrames = Task.Run(async () =>
        {
            using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                for (var c = 0; c < 20; c++)
                    await aDevice.SendBinaryAsync(WsClient.BinaryFrame("ignored", $"cam-{c % 16}", tiny, Now));
                await tick.WaitForNextTickAsync();
            }
        });
        var refusedSubscriptions = 0;
        var aSubscriptions = Task.Run(async () =>
        {
            var query = "?" + string.Join("&", Enumerable.Range(0, 64).Select(i => $"camera_id=unknown-{i}"));
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                try
                {
                    var (consumer, _) = await WsClient.ConsumerAsync(host, RouterHost.AcmeKey, $"ghost-{n}", query);
                    await consumer.DisposeAsync();
                }
                catch (InvalidOperationException e) when (e.Message.Contains("1013")) { Interlocked.Increment(ref refusedSubscriptions); }
            }
        });

        var from = clock.ElapsedMilliseconds;
        var sentB = await SendB(TimeSpan.FromSeconds(8));
        var to = clock.ElapsedMilliseconds;
        var settle = WaitDeadline.In(TimeSpan.FromSeconds(3)); // the last frames' way to the consumer
        while (!settle.Passed)
        {
            lock (arrivals) if (arrivals.Count(a => a >= from) >= sentB) break;
            await Task.Delay(20);
        }
        stop.Cancel();
        await Task.WhenAll(aFrames, aSubscriptions).WaitAsync(TimeSpan.FromSeconds(15));

        // The largest gap (ms) between the window's start and the times in it, or the whole window when there are none.
        List<long> InWindow(List<long> times) { lock (times) return times.Where(t => t >= from).ToList(); }
        long LargestGap(List<long> times) => times.Prepend(from).Zip(times, (a, b) => b - a).DefaultIfEmpty(to - from).Max();
        var window = InWindow(arrivals);
        var largestGap = LargestGap(window);
        var largestSendGap = LargestGap(InWindow(sends));
        output.WriteLine($"tenant B: {window.Count} of {sentB} frames ({100.0 * window.Count / sentB:F0} %), largest gap {largestGap} ms " +
            $"(largest gap between its device's sends {largestSendGap} ms); " +
            $"tenant A: {rateLimited} rate_limited error(s), {refusedSubscriptions} consumer(s) refused with 1013");
        Assert.True(rateLimited > 0, "tenant A's device was held at its message rate");
        Assert.True(refusedSubscriptions > 0, "tenant A's subscriptions were held at their rate");
        Assert.True(window.Count >= sentB * 90 / 100, $"tenant B got {window.Count} of {sentB} frames");
        Assert.True(largestGap <= 1000, $"tenant B's largest gap {largestGap} ms (between its device's sends {largestSendGap} ms)");
    }
}

/// <summary>
/// The flood test saturates both cores of a CI machine on purpose and measures tenant B's gaps against a fixed bound:
/// it runs alone, after the parallel part of the suite, so other tests' load does not count as tenant A's. In the
/// parallel part its gap reached 1104 and 1329 ms in two CI runs of 2026-12-03 (bound 1000 ms; 112-137 ms alone).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TenantFloodCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Tenant flood (run alone)";
}
