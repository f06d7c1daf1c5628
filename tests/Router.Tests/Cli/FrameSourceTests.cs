using OpenCvSharp;
using Router.Cli.FrameSources;
using Router.Protocol;
using Xunit;

namespace Router.Tests.Cli;

public sealed class FrameSourceTests
{
    [Fact]
    public void Video_file_yields_valid_768x576_jpegs_at_10_fps()
    {
        using var source = new VideoFileFrameSource(CliTestMedia.VideoPath, loop: false, quality: 85);
        Assert.NotNull(source.NativeFps);
        Assert.Equal(10, source.NativeFps!.Value, precision: 3);

        var previous = Array.Empty<byte>();
        for (var i = 0; i < 5; i++)
        {
            Assert.True(source.TryRead(out var frame));
            Assert.Equal((768, 576), (frame.Width, frame.Height));
            Assert.Equal([0xFF, 0xD8], frame.Jpeg[..2]);
            Assert.Equal([0xFF, 0xD9], frame.Jpeg[^2..]);
            Assert.True(JpegHeader.TryParse(frame.Jpeg, out var info, out _));
            Assert.Equal((768, 576), (info.Width, info.Height));
            using var decoded = Cv2.ImDecode(frame.Jpeg, ImreadModes.Color);
            Assert.False(decoded.Empty());
            Assert.Equal((768, 576), (decoded.Width, decoded.Height));
            Assert.NotEqual(previous, frame.Jpeg); // the scene moves: consecutive frames differ
            previous = frame.Jpeg;
        }
    }

    [Fact]
    public void Video_file_quality_changes_the_encoding()
    {
        using var low = new VideoFileFrameSource(CliTestMedia.VideoPath, loop: false, quality: 30);
        using var high = new VideoFileFrameSource(CliTestMedia.VideoPath, loop: false, quality: 95);
        Assert.True(low.TryRead(out var a));
        Assert.True(high.TryRead(out var b));
        Assert.True(a.Jpeg.Length * 2 < b.Jpeg.Length, $"q30 {a.Jpeg.Length} B vs q95 {b.Jpeg.Length} B");
    }

    [Fact]
    public void Video_file_that_is_not_a_video_fails_to_open()
    {
        using var folder = new TempFolder();
        var fake = Path.Combine(folder.Path, "fake.avi");
        File.WriteAllText(fake, "not a video");
        Assert.ThrowsAny<IOException>(() => new VideoFileFrameSource(fake, loop: false, quality: 85));
    }

    [Fact]
    public void Jpeg_folder_sends_files_in_name_order_byte_for_byte_with_sof_sizes()
    {
        using var folder = new TempFolder();
        // Names chosen so that name order differs from the originals' order; mixed extensions; a non-JPEG is ignored.
        var layout = new[] { ("c.jpg", "baboon.jpg"), ("a.JPEG", "building.jpg"), ("b.jpg", "starry_night.jpg") };
        foreach (var (name, original) in layout)
            File.Copy(Path.Combine(CliTestMedia.Dir, original), Path.Combine(folder.Path, name));
        File.WriteAllText(Path.Combine(folder.Path, "notes.txt"), "ignored");

        using var source = new JpegFolderFrameSource(folder.Path, loop: false);
        Assert.Null(source.NativeFps);
        Assert.Equal(["a.JPEG", "b.jpg", "c.jpg"], source.Files.Select(Path.GetFileName));

        var expected = new[] { ("building.jpg", 868, 600), ("starry_night.jpg", 752, 600), ("baboon.jpg", 512, 512) };
        foreach (var (original, width, height) in expected)
        {
            Assert.True(source.TryRead(out var frame));
            Assert.Equal(File.ReadAllBytes(Path.Combine(CliTestMedia.Dir, original)), frame.Jpeg);
            Assert.Equal((width, height), (frame.Width, frame.Height));
            using var decoded = Cv2.ImDecode(frame.Jpeg, ImreadModes.Unchanged);
            Assert.Equal((decoded.Width, decoded.Height), (frame.Width, frame.Height));
        }
        Assert.False(source.TryRead(out _));
    }

    [Fact]
    public void Jpeg_folder_loops_when_asked()
    {
        using var folder = new TempFolder();
        File.Copy(Path.Combine(CliTestMedia.Dir, "baboon.jpg"), Path.Combine(folder.Path, "1.jpg"));
        File.Copy(Path.Combine(CliTestMedia.Dir, "building.jpg"), Path.Combine(folder.Path, "2.jpg"));
        using var source = new JpegFolderFrameSource(folder.Path, loop: true);
        var widths = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            Assert.True(source.TryRead(out var frame));
            widths.Add(frame.Width);
        }
        Assert.Equal([512, 868, 512, 868, 512], widths);
    }

    [Fact]
    public void Jpeg_folder_without_jpegs_is_an_error()
    {
        using var folder = new TempFolder();
        File.WriteAllText(Path.Combine(folder.Path, "readme.txt"), "no pictures");
        Assert.Throws<IOException>(() => new JpegFolderFrameSource(folder.Path, loop: false));
    }

    [Fact]
    public void Sof_parser_reads_real_jpegs_and_refuses_other_data()
    {
        foreach (var (name, width, height) in CliTestMedia.Jpegs)
        {
            Assert.True(JpegHeader.TryParse(File.ReadAllBytes(Path.Combine(CliTestMedia.Dir, name)), out var info, out _), name);
            Assert.Equal((width, height), (info.Width, info.Height));
        }
        var avi = File.ReadAllBytes(CliTestMedia.VideoPath).AsSpan(0, 4096).ToArray();
        Assert.False(JpegHeader.TryParse(avi, out _, out _));
        var truncated = File.ReadAllBytes(Path.Combine(CliTestMedia.Dir, "baboon.jpg"))[..20];
        Assert.False(JpegHeader.TryParse(truncated, out _, out _));
    }
}
