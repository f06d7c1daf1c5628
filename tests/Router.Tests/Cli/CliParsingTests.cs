using System.CommandLine;
using Router.Cli.Commands;
using Router.Cli.Push;
using Router.Cli.Watch;
using Xunit;

namespace Router.Tests.Cli;

public sealed class CliParsingTests
{
    private static readonly string Video = CliTestMedia.VideoPath;

    private static ParseResult Parse(params string[] args) => Router.Cli.Program.BuildRootCommand().Parse(args);

    [Fact]
    public void Push_requires_exactly_one_input()
    {
        using var folder = new TempFolder();
        var common = new[] { "push", "--url", "ws://localhost:8080", "--key", "k", "--source", "robot-01" };

        var none = Parse(common);
        Assert.Contains(none.Errors, e => e.Message.Contains("Exactly one input", StringComparison.Ordinal));

        var two = Parse([.. common, "--file", Video, "--folder", folder.Path]);
        Assert.Contains(two.Errors, e => e.Message.Contains("Exactly one input", StringComparison.Ordinal));

        var three = Parse([.. common, "--file", Video, "--folder", folder.Path, "--webcam", "0"]);
        Assert.Contains(three.Errors, e => e.Message.Contains("Exactly one input", StringComparison.Ordinal));

        Assert.Empty(Parse([.. common, "--file", Video]).Errors);
        Assert.Empty(Parse([.. common, "--folder", folder.Path]).Errors);
        Assert.Empty(Parse([.. common, "--webcam", "0"]).Errors);
    }

    [Fact]
    public void Push_rejects_a_missing_file_and_unknown_format()
    {
        var missing = Parse("push", "--url", "ws://h", "--key", "k", "--source", "s", "--file", "/nonexistent/video.avi");
        Assert.NotEmpty(missing.Errors);

        var format = Parse("push", "--url", "ws://h", "--key", "k", "--source", "s", "--file", Video, "--format", "mjpeg");
        Assert.NotEmpty(format.Errors);
    }

    [Fact]
    public void Push_urls_are_normalised_to_the_device_path()
    {
        var push = new PushCommand();
        var root = new RootCommand { push.Command };
        var result = root.Parse([
            "push", "--key", "k", "--source", "robot-01", "--file", Video,
            "--url", "ws://localhost:8080",
            "--url", "wss://router.example.com/",
            "--url", "ws://10.0.0.2:9000/ws/device",
            "--url", "ws://10.0.0.3:9000/custom/ingest,http://10.0.0.4:8080",
        ]);
        Assert.Empty(result.Errors);

        var settings = push.BindSettings(result);
        Assert.Equal(
            [
                "ws://localhost:8080/ws/device",
                "wss://router.example.com/ws/device",
                "ws://10.0.0.2:9000/ws/device",
                "ws://10.0.0.3:9000/custom/ingest",
                "ws://10.0.0.4:8080/ws/device",
            ],
            settings.Urls.Select(u => u.ToString()));
        Assert.Equal("k", settings.ApiKey);
        Assert.Equal("robot-01", settings.SourceId);
        Assert.Equal("camera:0", settings.CameraId);
        Assert.Equal(PushFormat.Binary, settings.Format);
        Assert.Null(settings.Fps);
        Assert.Null(settings.Count);

        var input = push.BindInput(result);
        Assert.Equal(PushInputKind.File, input.Kind);
        Assert.Equal(85, input.Quality);
        Assert.False(input.Loop);
    }

    [Fact]
    public void Push_binds_the_remaining_options()
    {
        var push = new PushCommand();
        var result = new RootCommand { push.Command }.Parse([
            "push", "--url", "ws://h:1", "--key", "secret", "--source", "s", "--camera", "front", "--file", Video,
            "--loop", "--fps", "25", "--quality", "70", "--count", "100", "--duration", "2.5", "--format", "json",
        ]);
        Assert.Empty(result.Errors);
        var settings = push.BindSettings(result);
        Assert.Equal("front", settings.CameraId);
        Assert.Equal(25, settings.Fps);
        Assert.Equal(100, settings.Count);
        Assert.Equal(TimeSpan.FromSeconds(2.5), settings.Duration);
        Assert.Equal(PushFormat.Json, settings.Format);
        var input = push.BindInput(result);
        Assert.True(input.Loop);
        Assert.Equal(70, input.Quality);
        Assert.Equal(Path.GetFullPath(Video), input.Path);
    }

    [Theory]
    [InlineData("ftp://localhost:8080")]
    [InlineData("localhost:8080")]
    [InlineData("not a url")]
    public void Push_rejects_urls_that_are_not_websocket_urls(string url)
    {
        var result = Parse("push", "--url", url, "--key", "k", "--source", "s", "--file", Video);
        Assert.Contains(result.Errors, e => e.Message.Contains("ws://", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--quality", "0")]
    [InlineData("--quality", "101")]
    [InlineData("--fps", "0")]
    [InlineData("--count", "0")]
    [InlineData("--duration", "-1")]
    public void Push_rejects_out_of_range_numbers(string option, string value)
    {
        var result = Parse("push", "--url", "ws://h", "--key", "k", "--source", "s", "--file", Video, option, value);
        Assert.NotEmpty(result.Errors);
    }

    [Fact]
    public void Watch_url_repeats_camera_id_and_carries_format_max_fps_and_timeout()
    {
        var watch = new WatchCommand();
        var result = new RootCommand { watch.Command }.Parse([
            "watch", "--url", "ws://localhost:8080", "--key", "k", "--source", "robot 01",
            "--camera", "front", "--camera", "camera:0", "--format", "binary", "--max-fps", "5", "--timeout", "60",
        ]);
        Assert.Empty(result.Errors);

        var settings = watch.BindSettings(result);
        Assert.Equal(
            "ws://localhost:8080/v1/sources/robot%2001/video/stream?camera_id=front&camera_id=camera%3A0&format=binary&max_fps=5&timeout=60",
            settings.StreamUrl.AbsoluteUri);
        Assert.Equal(["front", "camera:0"], settings.Cameras);
        Assert.Equal("binary", settings.Format);
    }

    [Fact]
    public void Watch_takes_several_urls_repeated_or_comma_separated_for_failover()
    {
        var watch = new WatchCommand();
        var result = new RootCommand { watch.Command }.Parse(
            ["watch", "--url", "ws://gw-a:8080,ws://gw-b:8080", "--url", "http://gw-c", "--key", "k", "--source", "s"]);
        Assert.Empty(result.Errors);
        var settings = watch.BindSettings(result);
        Assert.Equal("ws://gw-a:8080/v1/sources/s/video/stream?format=json", settings.StreamUrl.AbsoluteUri);
        Assert.Equal(["ws://gw-b:8080/", "ws://gw-c/"], settings.FailoverUrls.Select(u => u.AbsoluteUri));
        Assert.NotEmpty(new RootCommand { new WatchCommand().Command }.Parse(["watch", "--url", "ws://a,ftp://b", "--key", "k", "--source", "s"]).Errors);
    }

    [Fact]
    public void Watch_url_defaults_to_json_all_cameras_and_keeps_a_path_prefix()
    {
        var watch = new WatchCommand();
        var result = new RootCommand { watch.Command }.Parse(["watch", "--url", "https://gw.example.com/router/", "--key", "k", "--source", "s"]);
        Assert.Empty(result.Errors);
        Assert.Equal("wss://gw.example.com/router/v1/sources/s/video/stream?format=json", watch.BindSettings(result).StreamUrl.AbsoluteUri);
    }

    [Fact]
    public void Watch_jpeg_needs_exactly_one_camera()
    {
        var twoCameras = Parse("watch", "--url", "ws://h", "--key", "k", "--source", "s", "--format", "jpeg", "--camera", "a", "--camera", "b");
        Assert.Contains(twoCameras.Errors, e => e.Message.Contains("exactly one --camera", StringComparison.Ordinal));
        var noCamera = Parse("watch", "--url", "ws://h", "--key", "k", "--source", "s", "--format", "jpeg");
        Assert.NotEmpty(noCamera.Errors);
        Assert.Empty(Parse("watch", "--url", "ws://h", "--key", "k", "--source", "s", "--format", "jpeg", "--camera", "a").Errors);
    }

    [Fact]
    public void Source_and_url_are_required()
    {
        Assert.NotEmpty(Parse("watch", "--url", "ws://h", "--key", "k").Errors);
        Assert.NotEmpty(Parse("watch", "--key", "k", "--source", "s").Errors);
        Assert.NotEmpty(Parse("push", "--key", "k", "--source", "s", "--file", Video).Errors);
    }

    [Fact]
    public void Backoff_doubles_from_half_a_second_to_eight_with_bounded_jitter()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(8));
        Assert.Equal([0.5, 1, 2, 4, 8, 8], Enumerable.Range(1, 6).Select(a => backoff.BaseDelay(a).TotalSeconds));
        for (var i = 0; i < 200; i++)
        {
            var d = backoff.Delay(3).TotalSeconds;
            Assert.InRange(d, 1.5, 2.5);
        }
    }
}
