using Router.Actors.Identity;

namespace Router.Actors.Camera;

/// <summary>A camera whose frames the cluster pulls itself (file, RTSP, HTTP, webcam or test pattern).</summary>
/// <param name="Key">The stream the frames are published to.</param>
/// <param name="Url">What <see cref="Media.PullSourceCapture"/> opens: a file path, <c>rtsp://…</c>, <c>http(s)://…</c>, <c>webcam:N</c> or <c>testpattern:</c>.</param>
public sealed record PullSourceDefinition(StreamKey Key, string Url);

/// <summary>
/// The configured pull sources. Every node holds the same catalog (from configuration), so whichever node hosts a
/// camera entity knows whether it pulls, and a re-homed entity resumes capture by itself.
/// </summary>
public sealed class PullSourceCatalog
{
    private readonly Dictionary<StreamKey, PullSourceDefinition> _byKey;

    /// <summary>Creates a catalog; later duplicates of a key replace earlier ones.</summary>
    public PullSourceCatalog(IEnumerable<PullSourceDefinition> sources)
    {
        _byKey = new Dictionary<StreamKey, PullSourceDefinition>();
        foreach (var s in sources) _byKey[s.Key] = s;
    }

    /// <summary>An empty catalog.</summary>
    public static PullSourceCatalog Empty { get; } = new([]);

    /// <summary>All pull sources.</summary>
    public IReadOnlyCollection<PullSourceDefinition> All => _byKey.Values;

    /// <summary>Finds the pull source of a stream.</summary>
    public bool TryGet(StreamKey key, out PullSourceDefinition definition) => _byKey.TryGetValue(key, out definition!);
}
