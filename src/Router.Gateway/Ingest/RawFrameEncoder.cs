using System.Diagnostics;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Router.Actors.Identity;
using Router.Actors.Media;
using Router.Protocol;

namespace Router.Gateway.Ingest;

/// <summary>What became of a raw frame given to <see cref="RawFrameEncoder.EncodeAsync(StreamKey, RawFrame)"/>.</summary>
internal enum RawEncodeStatus
{
    /// <summary>Encoded; the JPEG is in <see cref="RawEncodeResult.Jpeg"/>.</summary>
    Encoded,

    /// <summary>A newer frame of the same camera arrived before this one got an encoding slot; this one was dropped.</summary>
    Replaced,

    /// <summary>The gateway's encoding slots and queue are full (or the gateway is stopping); dropped at once.</summary>
    Busy,

    /// <summary>The frame waited for a slot longer than the ingest timeout; dropped without encoding.</summary>
    Expired,

    /// <summary>OpenCV could not convert or encode it (not expected for a checked layout).</summary>
    Failed,
}

/// <summary>The outcome of one raw frame: a status, the JPEG when encoded, else a message for the sender.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Jpeg">The JPEG bytes (status <see cref="RawEncodeStatus.Encoded"/>).</param>
/// <param name="Message">Why not (other statuses), one sentence.</param>
internal readonly record struct RawEncodeResult(RawEncodeStatus Status, byte[]? Jpeg, string? Message);

/// <summary>
/// Encodes raw frames to JPEG (<see cref="RawJpeg"/>) on the process's <see cref="EncodeThreads"/> (never on the thread
/// pool of the actors and sockets), under the gateway's bounds (<see cref="RawIngestOptions"/>):
/// <list type="bullet">
/// <item>Per camera (the slot key: tenant, source_id, camera_id) at most one frame encodes and one waits; a newer frame
/// replaces the waiting one (<see cref="RawEncodeStatus.Replaced"/>), and the frame encoded next is always the newest
/// that arrived before a slot was free. A device sending faster than the gateway encodes loses only its own older frames.</item>
/// <item>Per tenant at most <see cref="RawIngestOptions.MaxEncodesPerTenant"/> cameras encode or wait for a gateway slot;
/// the tenant's other cameras wait behind them, so one tenant never fills the gateway's slots and queue.</item>
/// <item>Per gateway at most <see cref="Concurrency"/> encodes run at once and <see cref="RawIngestOptions.EncodeQueueLimit"/>
/// cameras wait (oldest first); a camera beyond that gets <see cref="RawEncodeStatus.Busy"/> at once.</item>
/// <item>A frame that has not started encoding within the ingest timeout is dropped (<see cref="RawEncodeStatus.Expired"/>).</item>
/// </list>
/// Every returned task completes (with a result, never an exception).
/// </summary>
internal sealed class RawFrameEncoder : IDisposable
{
    private sealed class Job(RawFrame frame, long deadlineTicks)
    {
        public RawFrame Frame { get; } = frame;
        public long DeadlineTicks { get; } = deadlineTicks;
        public TaskCompletionSource<RawEncodeResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Slot
    {
        public Job? Waiting;
    }

    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly ConcurrencyLimiter _gate;
    private readonly PartitionedRateLimiter<string> _tenants;
    private readonly CancellationTokenSource _stopping = new();
    private readonly int _quality;
    private readonly long _waitMs;
    private readonly int _queueLimit;

    /// <summary>The gateway's encoder, configured by <c>Router:Gateway:RawIngest</c> and <c>Router:Gateway:IngestTimeout</c>.</summary>
    public RawFrameEncoder(IOptions<GatewayOptions> options) : this(options.Value.RawIngest, options.Value.IngestTimeout)
    {
    }

    /// <summary>An encoder with explicit settings.</summary>
    /// <param name="options">Quality and bounds.</param>
    /// <param name="maxWait">How long a frame may wait for a slot before it is dropped as expired.</param>
    internal RawFrameEncoder(RawIngestOptions options, TimeSpan maxWait)
    {
        Concurrency = options.EncodeConcurrency > 0 ? options.EncodeConcurrency : Math.Max(1, Environment.ProcessorCount / 2);
        _quality = options.JpegQuality;
        _waitMs = Math.Max(1, (long)maxWait.TotalMilliseconds);
        _queueLimit = options.EncodeQueueLimit;
        _gate = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = Concurrency, QueueLimit = options.EncodeQueueLimit, QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        var perTenant = options.MaxEncodesPerTenant;
        var queue = options.EncodeQueueLimit;
        _tenants = Admission.LazyPartitionedRateLimiter<string>.ConcurrencyLimiters(_ =>
            new ConcurrencyLimiterOptions { PermitLimit = perTenant, QueueLimit = queue, QueueProcessingOrder = QueueProcessingOrder.OldestFirst },
            StringComparer.Ordinal);
    }

    /// <summary>Encodes that may run at once on this gateway.</summary>
    public int Concurrency { get; }

    /// <summary>Cameras waiting in the gateway's queue for an encoding slot now.</summary>
    public long QueuedAtGateway => _gate.GetStatistics()?.CurrentQueuedCount ?? 0;

    /// <summary>Cameras with a frame encoding or waiting now.</summary>
    public int Cameras { get { lock (_lock) return _slots.Count; } }

    /// <summary>Encodes <paramref name="frame"/> as the newest frame of the camera <paramref name="key"/> (see the other overload).</summary>
    /// <param name="key">The camera (tenant, source_id, camera_id); its tenant is the fairness and metrics tenant.</param>
    /// <param name="frame">The checked raw frame.</param>
    public Task<RawEncodeResult> EncodeAsync(StreamKey key, RawFrame frame) =>
        EncodeAsync(key.Tenant, $"{key.Tenant}\n{key.SourceId}\n{key.CameraId}", frame);

    /// <summary>The error for a raw frame over the pixel limit (<c>Router:Camera:SizePolicy:MaxPixels</c>).</summary>
    public static string PixelLimitMessage(in RawFrameLayout layout, long maxPixels) =>
        $"raw frame {layout.Width}×{layout.Height} is {layout.Pixels} pixels, over the limit of {maxPixels} pixels";

    /// <summary>
    /// Encodes <paramref name="frame"/> as the newest frame of <paramref name="slotKey"/>'s camera. An older frame of
    /// that camera still waiting for a slot is dropped (its task completes with <see cref="RawEncodeStatus.Replaced"/>).
    /// </summary>
    /// <param name="tenant">The sender's tenant (fairness bound, metrics).</param>
    /// <param name="slotKey">The camera: tenant, source_id and camera_id.</param>
    /// <param name="frame">The checked raw frame.</param>
    public Task<RawEncodeResult> EncodeAsync(string tenant, string slotKey, RawFrame frame)
    {
        var job = new Job(frame, Environment.TickCount64 + _waitMs);
        Job? replaced;
        Slot? slot;
        var start = false;
        lock (_lock)
        {
            if (_stopping.IsCancellationRequested) return Task.FromResult(new RawEncodeResult(RawEncodeStatus.Busy, null, "the gateway is stopping"));
            if (!_slots.TryGetValue(slotKey, out slot))
            {
                _slots[slotKey] = slot = new Slot();
                start = true;
            }
            replaced = slot.Waiting;
            slot.Waiting = job;
        }
        if (replaced is not null)
            Complete(replaced, tenant, RawEncodeStatus.Replaced, "replaced by a newer raw frame of the same camera before it was encoded");
        if (start) _ = Task.Run(() => PumpAsync(tenant, slotKey, slot));
        return job.Result.Task;
    }

    /// <summary>
    /// Takes one of the gateway's encoding slots (waiting in its queue like a camera): tests and benchmarks hold the
    /// slots with it to make the gateway busy. Dispose the lease to give the slot back.
    /// </summary>
    internal ValueTask<RateLimitLease> AcquireEncodeSlotAsync(CancellationToken ct = default) => _gate.AcquireAsync(1, ct);

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock) _stopping.Cancel();
        _gate.Dispose();
        _tenants.Dispose();
    }

    /// <summary>Encodes the slot's newest frame until none waits, then removes the slot.</summary>
    private async Task PumpAsync(string tenant, string key, Slot slot)
    {
        try
        {
            while (true)
            {
                await EncodeNewestAsync(tenant, slot);
                lock (_lock)
                {
                    if (slot.Waiting is null)
                    {
                        _slots.Remove(key);
                        return;
                    }
                }
            }
        }
        catch (Exception e)
        {
            // Not expected (the limiters were disposed while stopping): never leave a sender waiting.
            Job? waiting;
            lock (_lock)
            {
                waiting = slot.Waiting;
                slot.Waiting = null;
                _slots.Remove(key);
            }
            if (waiting is not null) Complete(waiting, tenant, RawEncodeStatus.Busy, $"raw frame not encoded: {e.Message}");
        }
    }

    private async Task EncodeNewestAsync(string tenant, Slot slot)
    {
        using var tenantLease = await AcquireAsync(ct => _tenants.AcquireAsync(tenant, 1, ct), slot, tenant,
            "raw encoding is busy for this tenant: too many of its cameras are waiting; send a newer frame");
        if (tenantLease is null) return;
        using var lease = await AcquireAsync(ct => _gate.AcquireAsync(1, ct), slot, tenant,
            $"raw encoding is busy on this gateway ({Concurrency} running, {_queueLimit} cameras waiting); send a newer frame");
        if (lease is null) return;
        Job? job;
        lock (_lock)
        {
            job = slot.Waiting;
            slot.Waiting = null;
        }
        if (job is null) return;
        if (Environment.TickCount64 >= job.DeadlineTicks)
        {
            Complete(job, tenant, RawEncodeStatus.Expired, ExpiredMessage);
            return;
        }
        var started = Stopwatch.GetTimestamp();
        try
        {
            // On the encode threads; a frame whose deadline passes while it waits there for a thread is not encoded.
            var jpeg = await EncodeThreads.Run<byte[]?>(() => Environment.TickCount64 >= job.DeadlineTicks ? null : RawJpeg.Encode(job.Frame, _quality));
            if (jpeg is null)
            {
                Complete(job, tenant, RawEncodeStatus.Expired, ExpiredMessage);
                return;
            }
            RawIngestMetrics.Encoded(tenant, RawPixelFormats.Name(job.Frame.Layout.Format)!, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            job.Result.TrySetResult(new RawEncodeResult(RawEncodeStatus.Encoded, jpeg, null));
        }
        catch (Exception e) when (e is OpenCvSharp.OpenCVException or ArgumentException)
        {
            job.Result.TrySetResult(new RawEncodeResult(RawEncodeStatus.Failed, null, $"raw frame could not be encoded: {e.Message}"));
        }
    }

    private string ExpiredMessage => $"raw frame not encoded: it waited more than {_waitMs} ms for an encoding slot; send a newer frame";

    /// <summary>
    /// Waits for a permit until the deadline of the slot's newest waiting frame (a newer frame extends the wait). Returns
    /// null, having completed the waiting frame, when the limiter refuses (full), the frame expires, or the gateway stops.
    /// </summary>
    private async Task<RateLimitLease?> AcquireAsync(Func<CancellationToken, ValueTask<RateLimitLease>> acquire, Slot slot, string tenant, string busy)
    {
        while (true)
        {
            long deadline;
            lock (_lock)
            {
                if (slot.Waiting is null) return null;
                deadline = slot.Waiting.DeadlineTicks;
            }
            var remaining = deadline - Environment.TickCount64;
            if (remaining <= 0)
            {
                TakeWaiting(slot, tenant, RawEncodeStatus.Expired, ExpiredMessage, onlyIfDue: true);
                continue;
            }
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            cts.CancelAfter(TimeSpan.FromMilliseconds(remaining));
            RateLimitLease lease;
            try
            {
                lease = await acquire(cts.Token);
            }
            catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
            {
                continue; // the deadline passed: expire the waiting frame unless a newer one replaced it
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                TakeWaiting(slot, tenant, RawEncodeStatus.Busy, "the gateway is stopping", onlyIfDue: false);
                return null;
            }
            if (lease.IsAcquired) return lease;
            lease.Dispose();
            TakeWaiting(slot, tenant, RawEncodeStatus.Busy, busy, onlyIfDue: false);
            return null;
        }
    }

    private void TakeWaiting(Slot slot, string tenant, RawEncodeStatus status, string message, bool onlyIfDue)
    {
        Job? job;
        lock (_lock)
        {
            job = slot.Waiting;
            if (job is null || (onlyIfDue && job.DeadlineTicks > Environment.TickCount64)) return;
            slot.Waiting = null;
        }
        Complete(job, tenant, status, message);
    }

    private static void Complete(Job job, string tenant, RawEncodeStatus status, string message)
    {
        RawIngestMetrics.Dropped(tenant, status switch
        {
            RawEncodeStatus.Replaced => RawIngestMetrics.Replaced,
            RawEncodeStatus.Expired => RawIngestMetrics.Expired,
            _ => RawIngestMetrics.Busy,
        });
        job.Result.TrySetResult(new RawEncodeResult(status, null, message));
    }
}
