namespace Router.Tests.Cli;

/// <summary>
/// Finds the shared real media (OpenCV sample data): the first directory, walking up from the test binaries, that
/// holds <c>shared/media/vtest.avi</c> (from /work/main/tests/... that is /work/shared/media); else
/// <c>$ROUTER_MEDIA_DIR</c>; else /work/shared/media (for harnesses built outside the repository).
/// </summary>
internal static class CliTestMedia
{
    private static readonly Lazy<string> Located = new(Locate);

    public static string Dir => Located.Value;

    public static string VideoPath => Path.Combine(Dir, "vtest.avi");

    /// <summary>The real JPEG photos and their sizes (from the media README).</summary>
    public static IReadOnlyList<(string Name, int Width, int Height)> Jpegs { get; } =
    [
        ("baboon.jpg", 512, 512),
        ("building.jpg", 868, 600),
        ("starry_night.jpg", 752, 600),
    ];

    private static string Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "media");
            if (File.Exists(Path.Combine(candidate, "vtest.avi"))) return candidate;
        }
        foreach (var candidate in new[] { Environment.GetEnvironmentVariable("ROUTER_MEDIA_DIR"), "/work/shared/media" })
            if (!string.IsNullOrEmpty(candidate) && File.Exists(Path.Combine(candidate, "vtest.avi"))) return candidate;
        throw new InvalidOperationException(
            $"Real media not found: no shared/media/vtest.avi above {AppContext.BaseDirectory}, in $ROUTER_MEDIA_DIR or /work/shared/media.");
    }
}

/// <summary>A temporary folder removed on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "router-cli-tests-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
