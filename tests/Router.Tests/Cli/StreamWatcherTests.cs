using System.CommandLine;
using Router.Cli.Watch;
using Xunit;

namespace Router.Tests.Cli;

/// <summary><see cref="StreamWatcher"/> against a real Kestrel server implementing the consumer stream protocol.</summary>
public sealed class StreamWatcherTests
{
    private const string Key = "plx_watch_key";
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(30);

    private static List<(string, byte[], int, int)> RealFrames(params string[] cameras)
    {
        var frames = new List<(string, byte[], int, int)>();
        foreach (var camera in cameras)
            foreach (var (name, width, height) in CliTestMedia.Jpegs)
                frames.Add((camera, File.ReadAllBytes(Path.Combine(CliTestMedia.Dir, name)), width, height));
        return frames;
    }

    private static WatchSettings Settings(Uri baseUrl, string format, IReadOnlyList<string> cameras, string? outDir = null, string key = Key) =>
        new(baseUrl, key, "robot-01", cameras, format, MaxFps: 15, TimeoutSeconds: 60, Duration: TimeSpan.FromSeconds(25), outDir);

    [Theory]
    [InlineData("json")]
    [InlineData("binary")]
    public async Task Counts_frames_per_camera_measures_latency_and_exits_0_on_stream_timeout(string format)
    {
        await using var server = await TestConsumerServer.StartAsync(Key, RealFrames("front", "rear"), frameAge: TimeSpan.FromMilliseconds(250));
        using var outDir = new TempFolder();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var watcher = new StreamWatcher(Settings(server.BaseUrl, format, ["front", "rear"], outDir.Path), stdout, TextWriter.Synchronized(stderr));

        var exit = await watcher.RunAsync(CancellationToken.None).WaitAsync(TestTimeout);

        Assert.Equal(0, exit); // 4008 stream timeout is a normal end
        Assert.Equal($"/v1/sources/robot-01/video/stream?camera_id=front&camera_id=rear&format={format}&max_fps=15&timeout=60", server.LastRequest);
        Assert.Equal("auth", server.AuthMessage!.Value.GetProperty("type").GetString());
        Assert.Equal(Key, server.AuthMessage!.Value.GetProperty("api_key").GetString());
        Assert.Equal(new Dictionary<string, long> { ["front"] = 3, ["rear"] = 3 }, watcher.FramesPerCamera);
        Assert.Contains("4008 stream timeout", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("init: robot-01 online (router-cli), cameras: front (normal), rear (normal)", stderr.ToString(), StringComparison.Ordinal);

        var summary = stdout.ToString();
        Assert.StartsWith("watch summary: front 3 frames", summary, StringComparison.Ordinal);
        Assert.Contains("; rear 3 frames", summary, StringComparison.Ordinal);
        // The server stamps frames 250 ms in the past: the latency the watcher reports must reflect that.
        var p50 = int.Parse(System.Text.RegularExpressions.Regex.Match(summary, @"latency p50 (-?\d+) ms").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(p50, 250, 5000);

        // --out: each JPEG written byte for byte as <camera>-<n>.jpg.
        Assert.Equal(6, Directory.GetFiles(outDir.Path, "*.jpg").Length);
        Assert.Equal(File.ReadAllBytes(Path.Combine(CliTestMedia.Dir, "building.jpg")), File.ReadAllBytes(Path.Combine(outDir.Path, "rear-000002.jpg")));
    }

    [Fact]
    public async Task Jpeg_format_reads_the_size_from_the_jpeg_and_has_no_latency()
    {
        await using var server = await TestConsumerServer.StartAsync(Key, RealFrames("camera:0"), TimeSpan.Zero);
        using var outDir = new TempFolder();
        var stdout = new StringWriter();
        var watcher = new StreamWatcher(Settings(server.BaseUrl, "jpeg", ["camera:0"], outDir.Path), stdout, TextWriter.Synchronized(new StringWriter()));

        Assert.Equal(0, await watcher.RunAsync(CancellationToken.None).WaitAsync(TestTimeout));
        Assert.Equal(3, watcher.FramesPerCamera["camera:0"]);
        Assert.Contains("camera:0 3 frames", stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains("latency n/a", stdout.ToString(), StringComparison.Ordinal);
        Assert.Equal(File.ReadAllBytes(Path.Combine(CliTestMedia.Dir, "baboon.jpg")), File.ReadAllBytes(Path.Combine(outDir.Path, "camera_0-000001.jpg")));
    }

    [Fact]
    public async Task Unauthorized_close_4001_exits_3()
    {
        await using var server = await TestConsumerServer.StartAsync(Key, RealFrames("front"), TimeSpan.Zero);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, ProcessTerminationTimeout = null };
        var args = new[] { "watch", "--url", server.BaseUrl.ToString(), "--key", "wrong", "--source", "robot-01", "--duration", "20" };

        var exit = await Router.Cli.Program.BuildRootCommand().Parse(args).InvokeAsync(config).WaitAsync(TestTimeout);

        Assert.Equal(3, exit);
        Assert.Contains("4001 unauthorized", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("watch summary: no frames received", stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Duration_ends_an_open_stream_with_exit_0()
    {
        await using var server = await TestConsumerServer.StartAsync(Key, RealFrames("front"), TimeSpan.Zero, closeAfterFrames: false);
        var stdout = new StringWriter();
        var settings = Settings(server.BaseUrl, "json", ["front"]) with { Duration = TimeSpan.FromSeconds(1.5) };
        var watcher = new StreamWatcher(settings, stdout, TextWriter.Synchronized(new StringWriter()));

        Assert.Equal(0, await watcher.RunAsync(CancellationToken.None).WaitAsync(TestTimeout));
        Assert.Equal(3, watcher.FramesPerCamera["front"]);
    }

    [Fact]
    public async Task With_failover_urls_a_refused_gateway_is_skipped_for_the_next()
    {
        await using var server = await TestConsumerServer.StartAsync(Key, RealFrames("front"), TimeSpan.Zero, closeAfterFrames: false);
        var refused = new Uri($"ws://127.0.0.1:{KestrelTestServer.RefusingPort()}");
        var stderr = new StringWriter();
        var settings = Settings(refused, "json", ["front"]) with { Duration = TimeSpan.FromSeconds(1.5), FailoverUrls = [server.BaseUrl] };
        var watcher = new StreamWatcher(settings, new StringWriter(), TextWriter.Synchronized(stderr));

        Assert.Equal(0, await watcher.RunAsync(CancellationToken.None).WaitAsync(TestTimeout));
        Assert.Equal(3, watcher.FramesPerCamera["front"]);
        Assert.Contains($"cannot connect to {settings.StreamUrl}", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains($"connected to {settings.StreamUrlOf(server.BaseUrl)}", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_failover_urls_that_all_refuse_the_duration_ends_the_retries_with_exit_1()
    {
        var refused = new Uri($"ws://127.0.0.1:{KestrelTestServer.RefusingPort()}");
        var stderr = new StringWriter();
        var settings = Settings(refused, "json", []) with { Duration = TimeSpan.FromSeconds(2), FailoverUrls = [refused] };
        var watcher = new StreamWatcher(settings, new StringWriter(), TextWriter.Synchronized(stderr));

        Assert.Equal(1, await watcher.RunAsync(CancellationToken.None).WaitAsync(TestTimeout));
        Assert.Contains("retrying", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connection_refused_exits_1()
    {
        var url = new Uri($"ws://127.0.0.1:{KestrelTestServer.RefusingPort()}");
        var stderr = new StringWriter();
        var watcher = new StreamWatcher(Settings(url, "json", []), new StringWriter(), stderr);
        Assert.Equal(1, await watcher.RunAsync(CancellationToken.None).WaitAsync(TestTimeout));
        Assert.Contains("cannot connect", stderr.ToString(), StringComparison.Ordinal);
    }
}
