using OpenCvSharp;

namespace Router.Tests.Media;

/// <summary>Locates the real media used by the tests and turns it into test input.</summary>
internal static class TestMedia
{
    /// <summary>
    /// The full path of <c>shared/media/<paramref name="fileName"/></c>, found by walking up from the test binaries
    /// (the shared folder is a sibling of the repository root: <c>&lt;clone&gt;/../shared/media</c>). When no such folder
    /// exists (a clone on its own), the copies committed in <c>assets/media</c> stand in: the images byte for byte, and
    /// for <c>vtest.avi</c> its first 225 frames, <c>lobby.avi</c> (see assets/media/PROVENANCE.md).
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither the shared folder nor the repository has the file.</exception>
    public static string SharedMediaPath(string fileName)
    {
        foreach (var dir in Ancestors())
        {
            var path = Path.Combine(dir.FullName, "shared", "media", fileName);
            if (File.Exists(path)) return path;
        }
        var committed = Path.Combine(RepoRoot(), "assets", "media", fileName == "vtest.avi" ? "lobby.avi" : fileName);
        if (File.Exists(committed)) return committed;
        throw new FileNotFoundException($"shared/media/{fileName} was not found in any folder above {AppContext.BaseDirectory}, nor in assets/media");
    }

    /// <summary>The repository root: the nearest folder above the test binaries that holds <c>Router.sln</c>.</summary>
    public static string RepoRoot()
    {
        foreach (var dir in Ancestors())
        {
            if (File.Exists(Path.Combine(dir.FullName, "Router.sln"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException($"no folder above {AppContext.BaseDirectory} holds Router.sln");
    }

    /// <summary>The demo clip committed to the repository.</summary>
    public static string LobbyClipPath() => Path.Combine(RepoRoot(), "assets", "media", "lobby.avi");

    /// <summary>The first <paramref name="count"/> frames of a video (BGR); the caller disposes them.</summary>
    public static List<Mat> ReadFrames(string path, int count)
    {
        using var capture = new VideoCapture(path, VideoCaptureAPIs.FFMPEG);
        if (!capture.IsOpened()) throw new InvalidOperationException($"OpenCV cannot open {path}");
        var frames = new List<Mat>();
        while (frames.Count < count)
        {
            var frame = new Mat();
            if (!capture.Read(frame) || frame.Empty())
            {
                frame.Dispose();
                break;
            }
            frames.Add(frame);
        }
        return frames;
    }

    /// <summary>Encodes <paramref name="image"/> as JPEG.</summary>
    public static byte[] EncodeJpeg(Mat image, int quality, params ImageEncodingParam[] extra)
    {
        Cv2.ImEncode(".jpg", image, out var jpeg, [new ImageEncodingParam(ImwriteFlags.JpegQuality, quality), .. extra]);
        return jpeg;
    }

    /// <summary>The size OpenCV decodes <paramref name="jpeg"/> to.</summary>
    public static (int Width, int Height) DecodedSize(byte[] jpeg)
    {
        using var image = Cv2.ImDecode(jpeg, ImreadModes.Unchanged);
        if (image.Empty()) throw new InvalidOperationException("OpenCV cannot decode the JPEG");
        return (image.Width, image.Height);
    }

    /// <summary>
    /// Offset of the first <c>FF <paramref name="marker"/></c> segment up to SOS, walking the segment lengths of an
    /// encoder's output (which has no fill bytes or standalone markers).
    /// </summary>
    public static int FindSegment(byte[] jpeg, byte marker)
    {
        for (var pos = 2; pos + 3 < jpeg.Length && jpeg[pos] == 0xFF; pos += 2 + SegmentLength(jpeg, pos))
        {
            if (jpeg[pos + 1] == marker) return pos;
            if (jpeg[pos + 1] == 0xDA) break;
        }
        throw new InvalidOperationException($"the JPEG has no FF{marker:X2} segment before its scan");
    }

    /// <summary>The length field of the segment whose marker is at <paramref name="markerOffset"/> (includes the field itself).</summary>
    public static int SegmentLength(byte[] jpeg, int markerOffset) => (jpeg[markerOffset + 2] << 8) | jpeg[markerOffset + 3];

    private static IEnumerable<DirectoryInfo> Ancestors()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent) yield return dir;
    }
}
