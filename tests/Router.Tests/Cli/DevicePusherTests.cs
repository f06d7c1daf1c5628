using System.CommandLine;
using System.Text.Json;
using Router.Cli.FrameSources;
using Router.Cli.Push;
using Router.Protocol;
using Xunit;

namespace Router.Tests.Cli;

/// <summary>End-to-end: <see cref="DevicePusher"/> against a real Kestrel WebSocket server implementing device_auth.</summary>
public sealed class DevicePusherTests
{
    private const string Key = "plx_test_key";
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(30);

    private static PushSettings Settings(IEnumerable<Uri> urls, long? count, PushFormat format = PushFormat.Binary, double? fps = 20) =>
        new([.. urls], Key, "robot-01", "front", fps, count, TimeSpan.FromSeconds(25), format);

    /// <summary>The first <paramref name="n"/> frames of vtest.avi encoded the way the pusher encodes them.</summary>
    private static List<byte[]> ExpectedVideoFrames(int n)
    {
        using var source = new VideoFileFrameSource(CliTestMedia.VideoPath, loop: false, quality: 85);
        var frames = new List<byte[]>();
        for (var i = 0; i < n && source.TryRead(out var f); i++) frames.Add(f.Jpeg);
        return frames;
    }

    /// <summary>Index of each JPEG in <paramref name="expected"/>, asserting they appear in order (drops allowed).</summary>
    private static List<int> AssertInOrderSubsequence(IReadOnlyList<byte[]> expected, IEnumerable<byte[]> actual)
    {
        var indexes = new List<int>();
        var next = 0;
        foreach (var jpeg in actual)
        {
            while (next < expected.Count && !expected[next].AsSpan().SequenceEqual(jpeg)) next++;
            Assert.True(next < expected.Count, $"frame #{indexes.Count} is not the next frame of the video");
            indexes.Add(next++);
        }
        return indexes;
    }

    private static (StringWriter Out, StringWriter Err) Writers() => (new StringWriter(), new StringWriter());

    [Fact]
    public async Task Pushes_binary_frames_that_decode_to_the_video_frames()
    {
        await using var server = await TestDeviceServer.StartAsync(Key);
        var (stdout, stderr) = Writers();
        var pusher = new DevicePusher(Settings([server.DeviceUrl], count: 5), TextWriter.Synchronized(stdout), TextWriter.Synchronized(stderr));
        var started = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        int exit;
        using (var source = new VideoFileFrameSource(CliTestMedia.VideoPath, loop: false, quality: 85))
            exit = await pusher.RunAsync(source, CancellationToken.None).WaitAsync(TestTimeout);
        var finished = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        Assert.Equal(0, exit);
        var connection = await server.Connections.ReadAsync().AsTask().WaitAsync(TestTimeout);
        await connection.Ended.Task.WaitAsync(TestTimeout);

        var auth = connection.Auth;
        Assert.Equal("device_auth", auth.GetProperty("type").GetString());
        Assert.Equal(Key, auth.GetProperty("api_key").GetString());
        Assert.Equal("robot-01", auth.GetProperty("source_id").GetString());
        Assert.Equal("router-cli", auth.GetProperty("platform").GetString());
        Assert.False(string.IsNullOrWhiteSpace(auth.GetProperty("agent_version").GetString()));

        var messages = connection.Binary.ToList();
        Assert.Equal(5, messages.Count);
        Assert.Empty(connection.Text);
        var jpegs = new List<byte[]>();
        long lastTimestamp = 0;
        foreach (var message in messages)
        {
            Assert.True(BinaryFrameCodec.TryDecode(message, out var header, out var offset, out var error), error);
            Assert.Equal("robot-01", header.SourceId);
            Assert.Equal("front", header.CameraId);
            Assert.Equal((768, 576), (header.Width, header.Height));
            Assert.InRange(header.TimestampMs, started, finished);
            Assert.True(header.TimestampMs >= lastTimestamp);
            lastTimestamp = header.TimestampMs;
            jpegs.Add(message[offset..]);
        }
        // Identical JPEG bytes: the frames are the video's frames, in order; without drops exactly frames 0..4.
        var indexes = AssertInOrderSubsequence(ExpectedVideoFrames(40), jpegs);
        if (pusher.Stats.Dropped == 0) Assert.Equal([0, 1, 2, 3, 4], indexes);

        Assert.Equal(5, pusher.Stats.Sent);
        Assert.Equal(1, pusher.Stats.Connections);
        Assert.Contains("push summary: sent 5 frames", stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jpeg_folder_frames_arrive_byte_for_byte_in_json_format_and_rejections_are_counted_not_fatal()
    {
        using var folder = new TempFolder();
        var names = new[] { "baboon.jpg", "building.jpg", "starry_night.jpg" };
        foreach (var name in names) File.Copy(Path.Combine(CliTestMedia.Dir, name), Path.Combine(folder.Path, name));
        await using var server = await TestDeviceServer.StartAsync(Key, rejectFrames: true);
        var (stdout, stderr) = Writers();
        var pusher = new DevicePusher(Settings([server.DeviceUrl], count: null, PushFormat.Json, fps: 10), stdout, TextWriter.Synchronized(stderr));

        int exit;
        using (var source = new JpegFolderFrameSource(folder.Path, loop: false))
            exit = await pusher.RunAsync(source, CancellationToken.None).WaitAsync(TestTimeout);

        Assert.Equal(0, exit); // end of the folder without --loop
        var connection = await server.Connections.ReadAsync().AsTask().WaitAsync(TestTimeout);
        await connection.Ended.Task.WaitAsync(TestTimeout);
        var texts = connection.Text.ToList();
        // Every file was either sent or (only under heavy load) skipped to stay live; normally all three arrive.
        Assert.Equal(3, pusher.Stats.Sent + pusher.Stats.Dropped);
        Assert.Equal(pusher.Stats.Sent, texts.Count);
        Assert.NotEmpty(texts);
        var next = 0;
        foreach (var text in texts)
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            Assert.Equal("video_frame", root.GetProperty("type").GetString());
            Assert.Equal("front", root.GetProperty("camera_id").GetString());
            var jpeg = root.GetProperty("frame").GetBytesFromBase64();
            // Byte for byte one of the files, in name order.
            while (next < names.Length && !File.ReadAllBytes(Path.Combine(CliTestMedia.Dir, names[next])).AsSpan().SequenceEqual(jpeg)) next++;
            Assert.True(next < names.Length, "frame is not the next file of the folder");
            var name = names[next++];
            var expected = CliTestMedia.Jpegs.Single(j => j.Name == name);
            Assert.Equal(expected.Width, root.GetProperty("width").GetInt32());
            Assert.Equal(expected.Height, root.GetProperty("height").GetInt32());
            Assert.True(root.GetProperty("timestamp").GetInt64() > 1_600_000_000_000);
        }
        Assert.Equal(texts.Count, pusher.Stats.Rejected);
        Assert.Contains("frame rejected (test)", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains($"rejected {texts.Count}", stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fails_over_to_the_second_url_when_the_first_refuses_connections()
    {
        await using var server = await TestDeviceServer.StartAsync(Key);
        var refused = new Uri($"ws://127.0.0.1:{KestrelTestServer.RefusingPort()}/ws/device");
        var (stdout, stderr) = Writers();
        var pusher = new DevicePusher(Settings([refused, server.DeviceUrl], count: 3), stdout, TextWriter.Synchronized(stderr));
        var failures = new List<Uri>();
        pusher.ConnectionFailed += (url, _) => { lock (failures) failures.Add(url); };

        int exit;
        using (var source = new VideoFileFrameSource(CliTestMedia.VideoPath, loop: false, quality: 85))
            exit = await pusher.RunAsync(source, CancellationToken.None).WaitAsync(TestTimeout);

        Assert.Equal(0, exit);
        Assert.Equal([refused], failures);
        var connection = await server.Connections.ReadAsync().AsTask().WaitAsync(TestTimeout);
        await connection.Ended.Task.WaitAsync(TestTimeout);
        Assert.Equal(3, connection.Binary.Count);
        Assert.All(connection.Binary, m => Assert.True(BinaryFrameCodec.TryDecode(m, out var h, out _, out _) && h.Width == 768 && h.Height == 576));
        Assert.Contains($"{refused}", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains($"retrying {server.DeviceUrl}", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reconnects_after_connection_loss_without_restarting_the_video()
    {
        await using var first = await TestDeviceServer.StartAsync(Key, abortFirstConnectionAfter: 3);
        await using var second = await TestDeviceServer.StartAsync(Key);
        var (stdout, stderr) = Writers();
        var pusher = new DevicePusher(Settings([first.DeviceUrl, second.DeviceUrl], count: 6), stdout, TextWriter.Synchronized(stderr));

        int exit;
        using (var source = new VideoFileFrameSource(CliTestMedia.VideoPath, loop: false, quality: 85))
            exit = await pusher.RunAsync(source, CancellationToken.None).WaitAsync(TestTimeout);

        Assert.Equal(0, exit);
        var lost = await first.Connections.ReadAsync().AsTask().WaitAsync(TestTimeout);
        var resumed = await second.Connections.ReadAsync().AsTask().WaitAsync(TestTimeout);
        await resumed.Ended.Task.WaitAsync(TestTimeout);
        Assert.Equal(3, lost.Binary.Count);
        Assert.Equal(2, pusher.Stats.Connections);

        // Sent total is 6, but the first connection may have lost frames in flight: only the received count is exact.
        var all = lost.Binary.Concat(resumed.Binary).Select(m =>
        {
            Assert.True(BinaryFrameCodec.TryDecode(m, out _, out var offset, out _));
            return m[offset..];
        }).ToList();
        Assert.True(resumed.Binary.Count >= 1);
        var indexes = AssertInOrderSubsequence(ExpectedVideoFrames(120), all);
        // The video went on during the reconnect (frames were dropped, not replayed from the start).
        Assert.True(indexes[3] > indexes[2] + 1, $"frame indexes {string.Join(",", indexes)}");
        Assert.True(pusher.Stats.Dropped > 0);
    }

    [Fact]
    public async Task Bad_key_ends_push_with_exit_code_3_without_retrying()
    {
        await using var server = await TestDeviceServer.StartAsync("the-right-key");
        var (stdout, stderr) = Writers();
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, ProcessTerminationTimeout = null };
        var args = new[]
        {
            "push", "--url", server.BaseUrl.ToString(), "--key", "wrong-key", "--source", "robot-01",
            "--file", CliTestMedia.VideoPath, "--duration", "20",
        };

        var exit = await Router.Cli.Program.BuildRootCommand().Parse(args).InvokeAsync(config).WaitAsync(TestTimeout);

        Assert.Equal(3, exit);
        Assert.Contains("invalid api key", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("push summary: sent 0 frames", stdout.ToString(), StringComparison.Ordinal);
        var connection = await server.Connections.ReadAsync().AsTask().WaitAsync(TestTimeout);
        Assert.Equal("wrong-key", connection.Auth.GetProperty("api_key").GetString());
        Assert.Equal(1, server.Attempts); // no retry
    }

    [Fact]
    public async Task Cancellation_ends_a_looping_push_cleanly_with_a_summary()
    {
        await using var server = await TestDeviceServer.StartAsync(Key);
        var (stdout, stderr) = Writers();
        var pusher = new DevicePusher(Settings([server.DeviceUrl], count: null), stdout, TextWriter.Synchronized(stderr));
        using var cts = new CancellationTokenSource();
        using var source = new VideoFileFrameSource(CliTestMedia.VideoPath, loop: true, quality: 85);
        var run = pusher.RunAsync(source, cts.Token);

        // Cancel (as Ctrl-C does) once frames flow.
        await server.Frames.ReadAsync().AsTask().WaitAsync(TestTimeout);
        await server.Frames.ReadAsync().AsTask().WaitAsync(TestTimeout);
        await cts.CancelAsync();
        var exit = await run.WaitAsync(TestTimeout);

        Assert.Equal(0, exit);
        var connection = await server.Connections.ReadAsync().AsTask().WaitAsync(TestTimeout);
        await connection.Ended.Task.WaitAsync(TestTimeout); // closed by the client's close frame, not left hanging
        Assert.True(pusher.Stats.Sent >= 2);
        Assert.Contains("push summary:", stdout.ToString(), StringComparison.Ordinal);
    }
}
