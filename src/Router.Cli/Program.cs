using System.CommandLine;
using Router.Cli.Commands;
using Router.Cli.FrameSources;
using Router.Cli.Push;
using Router.Cli.Watch;

namespace Router.Cli;

/// <summary>Entry point of <c>router</c>: wires the commands to their runners.</summary>
internal static class Program
{
    private static Task<int> Main(string[] args) => BuildRootCommand().Parse(args).InvokeAsync();

    /// <summary>Builds the <c>router</c> command tree with actions. Output goes to the invocation configuration's writers.</summary>
    public static RootCommand BuildRootCommand()
    {
        var push = new PushCommand();
        push.Command.SetAction((parse, ct) => RunPushAsync(push, parse, ct));

        var watch = new WatchCommand();
        watch.Command.SetAction((parse, ct) =>
            new StreamWatcher(watch.BindSettings(parse), Out(parse), Err(parse)).RunAsync(ct));

        var keys = new KeysCommand();
        var token = new TokenCommand();

        return new RootCommand("router: push frames to and watch streams from a Router video cluster (Plexus wire protocol).")
        {
            push.Command,
            watch.Command,
            keys.Command,
            token.Command,
        };
    }

    private static async Task<int> RunPushAsync(PushCommand push, ParseResult parse, CancellationToken ct)
    {
        var settings = push.BindSettings(parse);
        IFrameSource source;
        try
        {
            source = push.BindInput(parse).Open();
        }
        catch (Exception e) when (e is IOException or OpenCvSharp.OpenCVException)
        {
            Err(parse).WriteLine($"push: {e.Message}");
            return ExitCodes.Usage;
        }
        using (source)
            return await new DevicePusher(settings, Out(parse), Err(parse)).RunAsync(source, ct);
    }

    private static TextWriter Out(ParseResult parse) => TextWriter.Synchronized(parse.InvocationConfiguration.Output);

    private static TextWriter Err(ParseResult parse) => TextWriter.Synchronized(parse.InvocationConfiguration.Error);
}
