using System.Runtime;

namespace Router.Node;

/// <summary>
/// Returns memory to the OS once a burst is over. The GC frees gen2 and the large-object heap only at a gen2
/// collection, and an idle process allocates too little to trigger one: after 500 consumers left, Router kept the
/// heap they grew (docs/benchmarks.md, "At rest"). Every <see cref="Period"/> this checks whether the process has gone
/// quiet (allocated under <see cref="QuietBytesPerSecond"/> since the last check) while the GC's committed memory is more than
/// <see cref="GrowthBytes"/> above what it was after the last trim; then it runs one aggressive, compacting gen2
/// collection (which also decommits the freed regions). Under load it does nothing, and it trims once per burst.
/// </summary>
internal sealed class IdleMemoryTrimmer(ILogger<IdleMemoryTrimmer> logger) : BackgroundService
{
    /// <summary>How often the process is checked (s).</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(15);

    /// <summary>Allocation rate under which the process counts as quiet (bytes/s): one camera pushing at 30 fps allocates ~2-3 MB/s.</summary>
    public const long QuietBytesPerSecond = 8 * 1024 * 1024;

    /// <summary>Growth of the GC's committed memory since the last trim that makes a trim worth its pause (bytes).</summary>
    public const long GrowthBytes = 32 * 1024 * 1024;

    /// <summary>
    /// True when the process allocated under <see cref="QuietBytesPerSecond"/> over <paramref name="over"/> and the GC's
    /// committed memory is at least <see cref="GrowthBytes"/> above <paramref name="baselineBytes"/> (after the last trim).
    /// </summary>
    internal static bool ShouldTrim(long allocatedBytes, TimeSpan over, long committedBytes, long baselineBytes) =>
        allocatedBytes / over.TotalSeconds < QuietBytesPerSecond && committedBytes - baselineBytes >= GrowthBytes;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        var allocated = GC.GetTotalAllocatedBytes();
        var baseline = GC.GetGCMemoryInfo().TotalCommittedBytes;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = GC.GetTotalAllocatedBytes();
                var sinceLast = now - allocated;
                allocated = now;
                var committed = GC.GetGCMemoryInfo().TotalCommittedBytes;
                if (committed < baseline) baseline = committed;
                if (!ShouldTrim(sinceLast, Period, committed, baseline)) continue;
                GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                baseline = GC.GetGCMemoryInfo().TotalCommittedBytes;
                allocated = GC.GetTotalAllocatedBytes();
                logger.LogDebug("Idle memory trim: GC committed {Before} -> {After} bytes", committed, baseline);
            }
        }
        catch (OperationCanceledException) { }
    }
}
