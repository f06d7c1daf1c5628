using System.CommandLine;
using Router.Cli.Commands;
using Router.Protocol;
using Xunit;

namespace Router.Tests.Cli;

/// <summary><c>router push --raw</c>: its values and the inputs and formats it goes with.</summary>
public sealed class RawPushParsingTests
{
    private static readonly string[] Common = ["push", "--url", "ws://localhost:8080", "--key", "k", "--source", "robot-01"];

    private static ParseResult Parse(params string[] args) => Router.Cli.Program.BuildRootCommand().Parse([.. Common, .. args]);

    [Theory]
    [InlineData("i420", RawPixelFormat.I420)]
    [InlineData("rgba", RawPixelFormat.Rgba)]
    [InlineData("bgr24", RawPixelFormat.Bgr24)]
    [InlineData("nv12", RawPixelFormat.Nv12)]
    public void Raw_binds_to_the_pixel_format(string name, RawPixelFormat format)
    {
        var push = new PushCommand();
        var result = new RootCommand { push.Command }.Parse([.. Common, "--file", CliTestMedia.VideoPath, "--raw", name]);
        Assert.Empty(result.Errors);
        var input = push.BindInput(result);
        Assert.Equal((PushInputKind.File, format), (input.Kind, input.Raw));
        Assert.Null(push.BindInput(new RootCommand { push.Command }.Parse([.. Common, "--file", CliTestMedia.VideoPath])).Raw);
    }

    [Fact]
    public void Raw_refuses_unknown_formats_folders_and_json()
    {
        Assert.NotEmpty(Parse("--file", CliTestMedia.VideoPath, "--raw", "yuv").Errors);
        using var folder = new TempFolder();
        Assert.Contains(Parse("--folder", folder.Path, "--raw", "i420").Errors, e => e.Message.Contains("--raw needs --file or --webcam", StringComparison.Ordinal));
        Assert.Contains(Parse("--file", CliTestMedia.VideoPath, "--raw", "rgba", "--format", "json").Errors,
            e => e.Message.Contains("cannot be used with --format json", StringComparison.Ordinal));
    }
}
