namespace Router.Actors.Media;

/// <summary>Finds the demo video that a pull source plays when none is configured.</summary>
public static class DemoMedia
{
    /// <summary>The URL of the built-in generated source, used when no demo file is found.</summary>
    public const string TestPatternUrl = "testpattern:";

    private const string SolutionFile = "Router.sln";
    private static readonly string LobbyClip = Path.Combine("assets", "media", "lobby.avi");
    private static readonly string SharedClip = Path.Combine("..", "shared", "media", "vtest.avi");

    /// <summary>Chooses the URL of the demo pull source.</summary>
    /// <param name="configured">The configured URL; returned unchanged when not null or blank.</param>
    /// <returns>
    /// <paramref name="configured"/> when set; otherwise the full path of the first file that exists among
    /// <c>assets/media/lobby.avi</c> under <see cref="AppContext.BaseDirectory"/> (the publish layout) or under one of its
    /// parent folders up to the repository root (the folder holding <c>Router.sln</c>), then
    /// <c>&lt;repository&gt;/../shared/media/vtest.avi</c>; otherwise <see cref="TestPatternUrl"/>.
    /// </returns>
    public static string ResolveDemoUrl(string? configured = null) => ResolveDemoUrl(configured, AppContext.BaseDirectory);

    /// <summary>As <see cref="ResolveDemoUrl(string?)"/>, searching upwards from <paramref name="startDirectory"/>.</summary>
    internal static string ResolveDemoUrl(string? configured, string startDirectory)
    {
        if (!string.IsNullOrWhiteSpace(configured)) return configured;
        for (var dir = new DirectoryInfo(startDirectory); dir is not null; dir = dir.Parent)
        {
            var lobby = Path.Combine(dir.FullName, LobbyClip);
            if (File.Exists(lobby)) return lobby;
            if (!File.Exists(Path.Combine(dir.FullName, SolutionFile))) continue;
            var shared = Path.GetFullPath(Path.Combine(dir.FullName, SharedClip));
            return File.Exists(shared) ? shared : TestPatternUrl;
        }
        return TestPatternUrl;
    }
}
