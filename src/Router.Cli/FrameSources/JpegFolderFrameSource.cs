using Router.Protocol;

namespace Router.Cli.FrameSources;

/// <summary>
/// The <c>.jpg</c>/<c>.jpeg</c> files of a folder in ordinal name order, sent byte for byte (no re-encoding).
/// Width and height come from each file's SOF header; a file that is not a readable JPEG is sent as 0x0.
/// </summary>
internal sealed class JpegFolderFrameSource : IFrameSource
{
    private readonly bool loop;
    private int next;

    /// <summary>Lists the JPEG files of <paramref name="folder"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="IOException">The folder has no JPEG files.</exception>
    public JpegFolderFrameSource(string folder, bool loop)
    {
        this.loop = loop;
        Description = folder;
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"folder not found: {folder}");
        Files = Directory.EnumerateFiles(folder)
            .Where(f => f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase))
            .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal)
            .ToArray();
        if (Files.Count == 0) throw new IOException($"no .jpg or .jpeg files in {folder}");
    }

    /// <summary>The files in the order they are sent.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public double? NativeFps => null;

    /// <inheritdoc />
    public bool TryRead(out SourceFrame frame)
    {
        if (next == Files.Count)
        {
            if (!loop) { frame = default; return false; }
            next = 0;
        }
        var jpeg = File.ReadAllBytes(Files[next++]);
        JpegHeader.TryParse(jpeg, out var info, out _); // a broken file is sent as it is, with size 0×0 (unknown)
        frame = new SourceFrame(jpeg, info.Width, info.Height);
        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
