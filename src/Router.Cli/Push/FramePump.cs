using System.Diagnostics;
using System.Threading.Channels;
using Router.Cli.FrameSources;

namespace Router.Cli.Push;

/// <summary>A frame read from the input and stamped with the wall-clock capture time.</summary>
internal readonly record struct CapturedFrame(SourceFrame Frame, long TimestampMs);

/// <summary>
/// Reads an <see cref="IFrameSource"/> on a dedicated thread at a fixed rate and offers only the newest frame to the
/// sender: the hand-over slot holds one frame and a frame still waiting when the next one is captured is dropped
/// (counted in <see cref="PushStats.Dropped"/>). So a slow or disconnected sender never makes frames queue up, and
/// the input keeps its place across reconnects.
/// </summary>
internal sealed class FramePump : IDisposable
{
    private readonly IFrameSource source;
    private readonly TimeSpan interval;
    private readonly PushStats stats;
    private readonly Channel<CapturedFrame> slot;
    private readonly CancellationTokenSource stop = new();
    private Thread? thread;

    /// <summary>Creates a pump reading <paramref name="source"/> at <paramref name="fps"/>; call <see cref="Start"/> to begin.</summary>
    public FramePump(IFrameSource source, double fps, PushStats stats)
    {
        if (!(fps > 0) || double.IsInfinity(fps)) throw new ArgumentOutOfRangeException(nameof(fps), fps, "fps must be positive");
        this.source = source;
        this.stats = stats;
        interval = TimeSpan.FromSeconds(1 / fps);
        slot = Channel.CreateBounded<CapturedFrame>(
            new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true },
            _ => stats.OnDropped());
    }

    /// <summary>The newest captured frame; completes at the end of the input (with the read error, if any).</summary>
    public ChannelReader<CapturedFrame> Reader => slot.Reader;

    /// <summary>Starts the reader thread (idempotent; not thread-safe).</summary>
    public void Start()
    {
        if (thread is not null) return;
        thread = new Thread(Run) { IsBackground = true, Name = "router-frame-reader" };
        thread.Start();
    }

    /// <summary>Stops the reader thread and waits (bounded) for it, so the source can be disposed safely.</summary>
    /// <returns>False if the thread is still blocked in a read.</returns>
    public bool Stop(TimeSpan timeout)
    {
        stop.Cancel();
        return thread is null || thread.Join(timeout);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Stop(TimeSpan.FromSeconds(5));
        stop.Dispose();
    }

    private void Run()
    {
        try
        {
            var clock = Stopwatch.StartNew();
            var due = TimeSpan.Zero;
            while (!stop.IsCancellationRequested)
            {
                var wait = due - clock.Elapsed;
                if (wait > TimeSpan.Zero && stop.Token.WaitHandle.WaitOne(wait)) break;
                if (!source.TryRead(out var frame)) break;
                stats.OnCaptured();
                slot.Writer.TryWrite(new CapturedFrame(frame, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
                due += interval;
                // Reading fell behind by more than a frame (slow decode, camera): restart the schedule, no burst.
                if (clock.Elapsed - due > interval) due = clock.Elapsed;
            }
            slot.Writer.TryComplete();
        }
        catch (Exception e)
        {
            slot.Writer.TryComplete(e);
        }
    }
}
