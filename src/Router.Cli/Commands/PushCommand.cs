using System.CommandLine;
using System.CommandLine.Parsing;
using Router.Cli.FrameSources;
using Router.Cli.Push;
using Router.Protocol;

namespace Router.Cli.Commands;

/// <summary>Which input <c>router push</c> reads.</summary>
internal enum PushInputKind
{
    /// <summary>A video file decoded with OpenCV.</summary>
    File,

    /// <summary>A folder of JPEG files.</summary>
    Folder,

    /// <summary>A local camera.</summary>
    Webcam,
}

/// <summary>The input of <c>router push</c>.</summary>
/// <param name="Kind">File, folder or webcam.</param>
/// <param name="Path">File or folder path (null for a webcam).</param>
/// <param name="WebcamIndex">Camera index (webcam only).</param>
/// <param name="Loop">Start again at the end (file, folder).</param>
/// <param name="Quality">JPEG quality for re-encoded inputs (file, webcam).</param>
/// <param name="Raw">Send raw pixels of this format instead of JPEG (file, webcam); null for JPEG.</param>
internal sealed record PushInput(PushInputKind Kind, string? Path, int WebcamIndex, bool Loop, int Quality, RawPixelFormat? Raw = null)
{
    /// <summary>Opens the input.</summary>
    /// <exception cref="IOException">It cannot be opened.</exception>
    public IFrameSource Open() => Kind switch
    {
        PushInputKind.File => new VideoFileFrameSource(Path!, Loop, Quality, Raw),
        PushInputKind.Folder => new JpegFolderFrameSource(Path!, Loop),
        _ => new WebcamFrameSource(WebcamIndex, Quality, Raw),
    };
}

/// <summary>Definition of <c>router push</c>: its options, their validation, and binding to <see cref="PushSettings"/>.</summary>
internal sealed class PushCommand
{
    /// <summary>Defines the command and its options.</summary>
    public PushCommand()
    {
        Url.CustomParser = ParseUrls;
        File.AcceptExistingOnly();
        Folder.AcceptExistingOnly();
        Format.AcceptOnlyFromAmong("binary", "json");
        Raw.AcceptOnlyFromAmong([.. RawPixelFormats.Names]);
        Fps.Validators.Add(r => CommonOptions.RequirePositive(r, r.GetValueOrDefault<double?>(), "--fps"));
        Count.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<long?>() is <= 0) r.AddError("--count must be at least 1.");
        });
        Quality.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 100) r.AddError("--quality must be between 1 and 100.");
        });
        Webcam.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 0) r.AddError("--webcam must be a camera index (0, 1, ...).");
        });

        Command = new Command("push", "Push live frames to Router's Plexus device WebSocket (/ws/device).")
        {
            Url, Key, Source, Camera, File, Folder, Webcam, Loop, Fps, Quality, Count, Duration, Format, Raw,
        };
        CommonOptions.RequireApiKey(Command, Key);
        Command.Validators.Add(result =>
        {
            var inputs = new Option[] { File, Folder, Webcam }.Count(o => result.GetResult(o) is not null);
            if (inputs != 1) result.AddError("Exactly one input is required: --file, --folder or --webcam.");
            if (result.GetResult(Raw) is null) return;
            if (result.GetResult(Folder) is not null) result.AddError("--raw needs --file or --webcam (a folder's JPEGs are sent as they are).");
            if (result.GetValue(Format) == "json") result.AddError("--raw sends binary messages (type 0x02); it cannot be used with --format json.");
        });
    }

    /// <summary>The <c>push</c> command (without action).</summary>
    public Command Command { get; }

    /// <summary><c>--url</c>: device URLs, repeatable or comma-separated; tried in order on failure.</summary>
    public Option<Uri[]> Url { get; } = new("--url")
    {
        Description = "Device WebSocket URL(s), e.g. ws://localhost:8080 (an empty path becomes /ws/device). Repeat for failover.",
        Required = true,
        Arity = ArgumentArity.OneOrMore,
        HelpName = "url",
    };

    /// <summary><c>--key</c>.</summary>
    public Option<string> Key { get; } = CommonOptions.ApiKey();

    /// <summary><c>--source</c>.</summary>
    public Option<string> Source { get; } = CommonOptions.Source("source_id to authenticate as");

    /// <summary><c>--camera</c>.</summary>
    public Option<string> Camera { get; } = new("--camera")
    {
        Description = "camera_id of the frames",
        DefaultValueFactory = _ => "camera:0",
        HelpName = "camera_id",
    };

    /// <summary><c>--file</c>: a video file.</summary>
    public Option<FileInfo> File { get; } = new("--file") { Description = "Video file to stream (decoded with OpenCV)", HelpName = "video" };

    /// <summary><c>--folder</c>: a folder of JPEGs.</summary>
    public Option<DirectoryInfo> Folder { get; } = new("--folder") { Description = "Folder of .jpg/.jpeg files, sent as-is in name order", HelpName = "dir" };

    /// <summary><c>--webcam</c>: a camera index.</summary>
    public Option<int?> Webcam { get; } = new("--webcam") { Description = "Local camera index", HelpName = "index" };

    /// <summary><c>--loop</c>.</summary>
    public Option<bool> Loop { get; } = new("--loop") { Description = "Start the file or folder again at its end" };

    /// <summary><c>--fps</c>.</summary>
    public Option<double?> Fps { get; } = new("--fps") { Description = "Frames per second (default: the video's own rate, 10 for folders)" };

    /// <summary><c>--quality</c>.</summary>
    public Option<int> Quality { get; } = new("--quality")
    {
        Description = "JPEG quality for video and webcam frames",
        DefaultValueFactory = _ => 85,
    };

    /// <summary><c>--count</c>.</summary>
    public Option<long?> Count { get; } = new("--count") { Description = "Stop after this many frames were sent" };

    /// <summary><c>--duration</c>.</summary>
    public Option<double?> Duration { get; } = CommonOptions.Duration("Stop after this many seconds");

    /// <summary><c>--format</c>.</summary>
    public Option<string> Format { get; } = new("--format")
    {
        Description = "Frame messages: binary (BinaryFrameCodec) or json (video_frame with base64)",
        DefaultValueFactory = _ => "binary",
    };

    /// <summary><c>--raw</c>: send raw pixels instead of JPEG.</summary>
    public Option<string?> Raw { get; } = new("--raw")
    {
        Description = "Send raw pixels (device message 0x02) of this format instead of JPEG, encoded by the gateway: i420, rgba, bgr24 (also nv12, bgra, rgb24)",
        HelpName = "format",
    };

    /// <summary>Binds a successful parse to settings.</summary>
    public PushSettings BindSettings(ParseResult result)
    {
        var duration = result.GetValue(Duration);
        return new PushSettings(
            result.GetRequiredValue(Url),
            CommonOptions.ResolveApiKey(result.GetValue(Key)) ?? throw new InvalidOperationException("no API key"),
            result.GetRequiredValue(Source),
            result.GetRequiredValue(Camera),
            result.GetValue(Fps),
            result.GetValue(Count),
            duration is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
            result.GetValue(Format) == "json" ? PushFormat.Json : PushFormat.Binary);
    }

    /// <summary>Binds a successful parse to the input description.</summary>
    public PushInput BindInput(ParseResult result)
    {
        var loop = result.GetValue(Loop);
        var quality = result.GetValue(Quality);
        RawPixelFormat? raw = RawPixelFormats.TryParse(result.GetValue(Raw), out var format) ? format : null;
        if (result.GetValue(File) is { } file) return new PushInput(PushInputKind.File, file.FullName, 0, loop, quality, raw);
        if (result.GetValue(Folder) is { } folder) return new PushInput(PushInputKind.Folder, folder.FullName, 0, loop, quality);
        return new PushInput(PushInputKind.Webcam, null, result.GetValue(Webcam) ?? 0, loop, quality, raw);
    }

    private static Uri[] ParseUrls(ArgumentResult result) => CliUrls.ParseUrlList(result, CliUrls.TryNormalizeDeviceUrl);
}
