using OpenCvSharp;
using Router.Actors.Media;
using Xunit;

namespace Router.Tests.Media;

public sealed class DemoMediaTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("router-demo-media-tests-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Theory]
    [InlineData("rtsp://camera.example/stream")]
    [InlineData("testpattern:320x240@5")]
    public void ConfiguredUrl_IsReturnedUnchanged(string configured)
    {
        Assert.Equal(configured, DemoMedia.ResolveDemoUrl(configured));
    }

    [Fact]
    public void FromTheTestBinaries_TheRepositoryLobbyClipIsFound()
    {
        var expected = TestMedia.LobbyClipPath();
        Assert.True(File.Exists(expected), $"{expected} is missing");

        var resolved = DemoMedia.ResolveDemoUrl();

        // The repository's clip, or a copy of it that a build placed beside the binaries.
        Assert.EndsWith(Path.Combine("assets", "media", "lobby.avi"), resolved, StringComparison.Ordinal);
        Assert.Equal(new FileInfo(expected).Length, new FileInfo(resolved).Length);
        Assert.Equal(resolved, DemoMedia.ResolveDemoUrl("  "));
    }

    [Fact]
    public void PublishLayout_FindsTheClipBesideTheBinaries()
    {
        var app = Directory.CreateDirectory(Path.Combine(_temp.FullName, "app"));
        var clip = CreateFile(app.FullName, "assets", "media", "lobby.avi");
        CreateFile(_temp.FullName, "shared", "media", "vtest.avi");

        Assert.Equal(clip, DemoMedia.ResolveDemoUrl(null, app.FullName));
    }

    [Fact]
    public void RepositoryWithoutTheClip_FallsBackToTheSharedVtest()
    {
        var repo = Directory.CreateDirectory(Path.Combine(_temp.FullName, "repo"));
        CreateFile(repo.FullName, "Router.sln");
        var bin = Directory.CreateDirectory(Path.Combine(repo.FullName, "src", "Router.Node", "bin", "Debug", "net10.0"));
        var shared = CreateFile(_temp.FullName, "shared", "media", "vtest.avi");

        Assert.Equal(shared, DemoMedia.ResolveDemoUrl(null, bin.FullName));
    }

    [Fact]
    public void NoMediaAnywhere_FallsBackToTheTestPattern()
    {
        var repo = Directory.CreateDirectory(Path.Combine(_temp.FullName, "repo"));
        CreateFile(repo.FullName, "Router.sln");
        // A clip above the repository root is not the repository's.
        CreateFile(_temp.FullName, "assets", "media", "lobby.avi");

        Assert.Equal("testpattern:", DemoMedia.ResolveDemoUrl(null, repo.FullName));
        Assert.Equal(DemoMedia.TestPatternUrl, DemoMedia.ResolveDemoUrl(null, repo.FullName));
    }

    [Fact]
    public void LobbyClip_IsAPlayable768x576VideoAt10FpsOfAtMost3AndAHalfMegabytes()
    {
        var path = TestMedia.LobbyClipPath();
        Assert.InRange(new FileInfo(path).Length, 1_000_000, 3_500_000);
        var folder = Path.GetDirectoryName(path)!;
        Assert.True(File.Exists(Path.Combine(folder, "PROVENANCE.md")));
        Assert.True(File.Exists(Path.Combine(folder, "opencv-doc.copyright")));

        using var capture = new VideoCapture(path, VideoCaptureAPIs.FFMPEG);
        Assert.True(capture.IsOpened());
        Assert.Equal((768, 576, 10.0), (capture.FrameWidth, capture.FrameHeight, capture.Fps));
        using var frame = new Mat();
        var frames = 0;
        while (capture.Read(frame) && !frame.Empty()) frames++;

        Assert.Equal(225, frames);
    }

    private static string CreateFile(string directory, params string[] parts)
    {
        var path = Path.Combine([directory, .. parts]);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, [0x52, 0x49, 0x46, 0x46]);
        return path;
    }
}
