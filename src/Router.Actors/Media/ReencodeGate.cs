using System.Runtime.CompilerServices;
using System.Threading.RateLimiting;
using Akka.Actor;
using Router.Actors.Messages;
using Router.Actors.Metrics;

namespace Router.Actors.Media;

/// <summary>
/// The per-node bound on re-encoding: at most <see cref="Concurrency"/> decodes run at once (on the process's
/// <see cref="EncodeThreads"/>, never on the thread pool of the actors and sockets), at most <see cref="QueueLimit"/> frames wait for a slot (oldest first), and a frame beyond
/// that is rejected as <see cref="FrameRejectReason.Busy"/> at once. A waiting frame whose sender's deadline passes is
/// dropped from the queue, and one whose deadline has passed when it gets a slot is skipped without decoding.
/// </summary>
/// <remarks>
/// One gate per <see cref="ActorSystem"/> (see <see cref="For"/>), shared by all camera entities of the node. A decode
/// that has started cannot be interrupted; <see cref="SizePolicyOptions.MaxPixels"/> bounds its time and memory.
/// </remarks>
internal sealed class ReencodeGate
{
    private static readonly ConditionalWeakTable<ActorSystem, ReencodeGate> Gates = new();
    private readonly ConcurrencyLimiter _limiter;
    private int _queued;

    /// <summary>Creates a gate.</summary>
    /// <param name="concurrency">Re-encodes at once; 0 means max(1, processor count / 2).</param>
    /// <param name="queueLimit">Frames that may wait for a slot; 0 means none (busy at once).</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is negative.</exception>
    public ReencodeGate(int concurrency, int queueLimit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(concurrency);
        ArgumentOutOfRangeException.ThrowIfNegative(queueLimit);
        Concurrency = concurrency > 0 ? concurrency : Math.Max(1, Environment.ProcessorCount / 2);
        QueueLimit = queueLimit;
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = Concurrency,
            QueueLimit = queueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>Re-encodes that may run at once.</summary>
    public int Concurrency { get; }

    /// <summary>Frames that may wait for a slot.</summary>
    public int QueueLimit { get; }

    /// <summary>Frames waiting for a slot now.</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>
    /// The gate of <paramref name="system"/>, created with <paramref name="options"/> on first use (later calls return
    /// the same gate whatever their options).
    /// </summary>
    public static ReencodeGate For(ActorSystem system, SizePolicyOptions options) =>
        Gates.GetValue(system, _ => new ReencodeGate(options.ReencodeConcurrency, options.ReencodeQueueLimit));

    /// <summary>
    /// Runs <paramref name="work"/> on the <see cref="EncodeThreads"/> once a slot is free, unless the gate is full or the deadline
    /// passes first.
    /// </summary>
    /// <param name="work">The blocking decode/re-encode.</param>
    /// <param name="deadlineTicks">An <see cref="Environment.TickCount64"/> value after which the result is of no use; <see cref="long.MaxValue"/> for none.</param>
    /// <returns>The result of <paramref name="work"/>.</returns>
    /// <exception cref="FrameRejectedException">
    /// <see cref="FrameRejectReason.Busy"/> when all slots and the queue are taken, or the deadline passed before the work
    /// started; any exception of <paramref name="work"/> is passed on.
    /// </exception>
    public async Task<T> RunAsync<T>(Func<T> work, long deadlineTicks)
    {
        var remaining = deadlineTicks == long.MaxValue ? Timeout.Infinite : deadlineTicks - Environment.TickCount64;
        if (remaining != Timeout.Infinite && remaining <= 0) throw Expired();
        using var cts = remaining == Timeout.Infinite ? null : new CancellationTokenSource(TimeSpan.FromMilliseconds(remaining));
        RateLimitLease lease;
        var acquire = _limiter.AcquireAsync(1, cts?.Token ?? CancellationToken.None);
        if (acquire.IsCompleted)
        {
            lease = await acquire;
        }
        else
        {
            Interlocked.Increment(ref _queued);
            IngestMetrics.ReencodeQueued(1);
            try
            {
                lease = await acquire;
            }
            catch (OperationCanceledException)
            {
                throw Expired();
            }
            finally
            {
                Interlocked.Decrement(ref _queued);
                IngestMetrics.ReencodeQueued(-1);
            }
        }
        using (lease)
        {
            if (!lease.IsAcquired)
                throw new FrameRejectedException(FrameRejectReason.Busy,
                    $"re-encoding is busy on this node ({Concurrency} running, {QueueLimit} waiting); retry later");
            if (deadlineTicks != long.MaxValue && Environment.TickCount64 >= deadlineTicks) throw Expired();
            // The blocking work runs on the encode threads, off the thread pool the actors and sockets share; a frame
            // whose deadline passes while it waits there for a thread is skipped too.
            IngestMetrics.ReencodeRunning(1);
            try
            {
                return await EncodeThreads.Run(() =>
                    deadlineTicks != long.MaxValue && Environment.TickCount64 >= deadlineTicks ? throw Expired() : work());
            }
            finally
            {
                IngestMetrics.ReencodeRunning(-1);
            }
        }
    }

    private static FrameRejectedException Expired() => new(FrameRejectReason.Busy,
        "re-encoding is busy on this node: the frame's deadline passed before its decode could start; skipped");
}
