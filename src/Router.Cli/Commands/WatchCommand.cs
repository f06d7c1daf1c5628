using System.CommandLine;
using System.CommandLine.Parsing;
using Router.Cli.Watch;
using Router.Protocol;

namespace Router.Cli.Commands;

/// <summary>Definition of <c>router watch</c>: its options, their validation, and binding to <see cref="WatchSettings"/>.</summary>
internal sealed class WatchCommand
{
    /// <summary>Defines the command and its options.</summary>
    public WatchCommand()
    {
        Url.CustomParser = result => CliUrls.ParseUrlList(result, CliUrls.TryNormalizeBaseUrl);
        Format.AcceptOnlyFromAmong(WatchSettings.Formats);
        MaxFps.Validators.Add(r => CommonOptions.RequirePositive(r, r.GetValueOrDefault<double?>(), "--max-fps"));
        Timeout.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 0 or > 86400) r.AddError("--timeout must be between 0 and 86400 seconds.");
        });

        Command = new Command("watch", "Watch a source through the consumer WebSocket (/v1/sources/{source_id}/video/stream).")
        {
            Url, Key, Source, Camera, Format, MaxFps, Timeout, Duration, Out,
        };
        CommonOptions.RequireApiKey(Command, Key);
        Command.Validators.Add(result =>
        {
            if (result.GetValue(Format) == "jpeg" && (result.GetValue(Camera)?.Length ?? 0) != 1)
                result.AddError("--format jpeg needs exactly one --camera (bare JPEG messages do not say which camera they are from).");
        });
    }

    /// <summary>The <c>watch</c> command (without action).</summary>
    public Command Command { get; }

    /// <summary><c>--url</c>: gateway base URLs, repeatable or comma-separated; with several, a lost connection fails over to the next.</summary>
    public Option<Uri[]> Url { get; } = new("--url")
    {
        Description = "Gateway base URL(s), e.g. ws://localhost:8080. Repeat for failover: a refused or lost connection is retried on the next.",
        Required = true,
        Arity = ArgumentArity.OneOrMore,
        HelpName = "url",
    };

    /// <summary><c>--key</c>.</summary>
    public Option<string> Key { get; } = CommonOptions.ApiKey();

    /// <summary><c>--source</c>.</summary>
    public Option<string> Source { get; } = CommonOptions.Source("source_id to watch");

    /// <summary><c>--camera</c>, repeatable.</summary>
    public Option<string[]> Camera { get; } = new("--camera")
    {
        Description = "camera_id to watch; repeat for several (default: all cameras of the source)",
        HelpName = "camera_id",
    };

    /// <summary><c>--format</c>.</summary>
    public Option<string> Format { get; } = new("--format")
    {
        Description = "Frame messages: json (base64), binary (BinaryFrameCodec) or jpeg (bare bytes, one camera, no timestamp)",
        DefaultValueFactory = _ => "json",
    };

    /// <summary><c>--max-fps</c>.</summary>
    public Option<double?> MaxFps { get; } = new("--max-fps") { Description = "Ask the server to send at most this many frames per second per camera" };

    /// <summary><c>--timeout</c>.</summary>
    public Option<int?> Timeout { get; } = new("--timeout")
    {
        Description = "Ask the server to close the stream after this many seconds (close 4008)",
        HelpName = "seconds",
    };

    /// <summary><c>--duration</c>.</summary>
    public Option<double?> Duration { get; } = CommonOptions.Duration("Stop watching after this many seconds");

    /// <summary><c>--out</c>.</summary>
    public Option<DirectoryInfo> Out { get; } = new("--out") { Description = "Write each received JPEG to this folder as <camera>-<n>.jpg", HelpName = "dir" };

    /// <summary>Binds a successful parse to settings.</summary>
    public WatchSettings BindSettings(ParseResult result)
    {
        var duration = result.GetValue(Duration);
        var urls = result.GetRequiredValue(Url);
        return new WatchSettings(
            urls[0],
            CommonOptions.ResolveApiKey(result.GetValue(Key)) ?? throw new InvalidOperationException("no API key"),
            result.GetRequiredValue(Source),
            result.GetValue(Camera) ?? [],
            result.GetRequiredValue(Format),
            result.GetValue(MaxFps),
            result.GetValue(Timeout),
            duration is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
            result.GetValue(Out)?.FullName) { FailoverUrls = urls[1..] };
    }
}
