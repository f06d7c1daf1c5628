using System.Collections.Concurrent;

namespace Router.Actors.Media;

/// <summary>
/// The process's threads for blocking OpenCV work (JPEG decode, resize, JPEG encode, raw-pixel conversion): one per
/// processor, started on first use, taking jobs from one queue in arrival order. They are not the .NET thread pool,
/// which Akka's default dispatcher, Kestrel's socket I/O and every async continuation share: an 8K re-encode of
/// ~150 ms on a pool thread of a 2-core process left one thread for everything else, and a device's next messages were
/// read only after the decode had ended (the pool adds threads only after ~0.5 s of starvation).
/// </summary>
/// <remarks>
/// The queue has no bound of its own: its callers bound what they put in it (<see cref="ReencodeGate"/>,
/// <see cref="VariantEncodeGate"/> and the gateway's raw-frame encoder each run at most their concurrency at once), so
/// it holds at most the sum of those. The threads are shared by every actor system of the process and live as long as
/// it; idle, they block on the queue without timers. A job's result is handed back through a task whose continuations
/// run on the thread pool, so no caller's code runs on these threads.
/// </remarks>
public static class EncodeThreads
{
    private static readonly BlockingCollection<Action> Jobs = new(new ConcurrentQueue<Action>());
    private static int _started;

    /// <summary>Threads that run jobs: one per processor, at least 1.</summary>
    public static int Count { get; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Runs <paramref name="work"/> on one of the threads once it is free.</summary>
    /// <param name="work">The blocking work.</param>
    /// <returns>Its result, or the exception it threw.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is null.</exception>
    public static Task<T> Run<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        EnsureStarted();
        Jobs.Add(() =>
        {
            try { done.TrySetResult(work()); }
            catch (Exception e) { done.TrySetException(e); }
        });
        return done.Task;
    }

    private static void EnsureStarted()
    {
        if (Volatile.Read(ref _started) != 0 || Interlocked.Exchange(ref _started, 1) != 0) return;
        for (var i = 0; i < Count; i++)
            new Thread(RunJobs) { IsBackground = true, Name = $"router-encode-{i}" }.Start();
    }

    private static void RunJobs()
    {
        foreach (var job in Jobs.GetConsumingEnumerable()) job();
    }
}
