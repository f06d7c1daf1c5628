namespace Router.Cli;

/// <summary>
/// Writes progress lines to a writer (stderr) at a fixed interval until cancelled. The render callback receives the
/// time since the previous call and returns the lines to print (none to stay quiet).
/// </summary>
internal sealed class ProgressReporter(TextWriter writer, TimeSpan interval, Func<TimeSpan, IEnumerable<string>> render)
{
    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled; never throws for cancellation.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        var last = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var now = System.Diagnostics.Stopwatch.GetTimestamp();
                var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(last, now);
                last = now;
                foreach (var line in render(elapsed))
                    writer.WriteLine(line);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }
}
