using System.Runtime;
using System.Runtime.InteropServices;

namespace Router.Node;

/// <summary>
/// Returns memory to the OS once a burst is over, and keeps a process at rest small. The GC frees gen2 and the
/// large-object heap only at a gen2 collection, and an idle process allocates too little to trigger one: after 500
/// consumers left, Router kept the heap they grew (docs/benchmarks.md, "At rest"). Every <see cref="Period"/> this
/// checks the allocation rate since the last check and the GC's committed memory against what it was after the last
/// trim, and runs one aggressive, compacting gen2 collection (which decommits the freed regions and the pages the gen0
/// budget had touched) when either
/// <list type="bullet">
/// <item>a burst is over: the process allocates under <see cref="QuietBytesPerSecond"/> and committed memory grew by
/// <see cref="GrowthBytes"/>; or</item>
/// <item>the process is at rest: it allocates under <see cref="RestBytesPerSecond"/> and committed memory grew by
/// <see cref="RestGrowthBytes"/> (first the start-up's garbage and the gen0 budget it touched, 16 MiB on a machine with
/// a 32 MiB L3 cache; then every few minutes at ~40 KB/s).</item>
/// </list>
/// A burst's trim is followed by a second one at the next check if the process is still quiet: what a burst leaves dies over
/// some seconds after it (connections and actors stopping, finalizers of sockets and handles), after the first trim;
/// measured, 11 of the 17 MB left in gen2 a minute after 500 consumers left were such garbage. After each collection the
/// native heap is trimmed too (glibc <c>malloc_trim</c>): the runtime, the JIT and the sockets free native memory that
/// glibc keeps resident (~10 MiB after start-up). Under load it does nothing.
/// </summary>
internal sealed class IdleMemoryTrimmer(ILogger<IdleMemoryTrimmer> logger) : BackgroundService
{
    /// <summary>How often the process is checked (s).</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(15);

    /// <summary>Allocation rate under which the process counts as quiet (bytes/s): one camera pushing at 30 fps allocates ~2-3 MB/s.</summary>
    public const long QuietBytesPerSecond = 8 * 1024 * 1024;

    /// <summary>Growth of the GC's committed memory since the last trim that makes a trim worth its pause (bytes).</summary>
    public const long GrowthBytes = 32 * 1024 * 1024;

    /// <summary>Allocation rate under which the process counts as at rest (bytes/s): with no consumer and no device it allocates ~40 KB/s.</summary>
    public const long RestBytesPerSecond = 512 * 1024;

    /// <summary>Growth of the GC's committed memory since the last trim that makes a process at rest trim (bytes).</summary>
    public const long RestGrowthBytes = 8 * 1024 * 1024;

    /// <summary>
    /// True when the process allocated under <see cref="QuietBytesPerSecond"/> over <paramref name="over"/> and the GC's
    /// committed memory is at least <see cref="GrowthBytes"/> above <paramref name="baselineBytes"/> (after the last trim).
    /// </summary>
    internal static bool ShouldTrim(long allocatedBytes, TimeSpan over, long committedBytes, long baselineBytes) =>
        IsQuiet(allocatedBytes, over) && committedBytes - baselineBytes >= GrowthBytes;

    /// <summary>True when the process allocated under <see cref="QuietBytesPerSecond"/> over <paramref name="over"/>.</summary>
    internal static bool IsQuiet(long allocatedBytes, TimeSpan over) => allocatedBytes / over.TotalSeconds < QuietBytesPerSecond;

    /// <summary>
    /// True when the process allocated under <see cref="RestBytesPerSecond"/> over <paramref name="over"/> and the GC's
    /// committed memory is at least <see cref="RestGrowthBytes"/> above <paramref name="baselineBytes"/> (after the last trim; 0 before the first).
    /// </summary>
    internal static bool ShouldTrimAtRest(long allocatedBytes, TimeSpan over, long committedBytes, long baselineBytes) =>
        allocatedBytes / over.TotalSeconds < RestBytesPerSecond && committedBytes - baselineBytes >= RestGrowthBytes;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        var allocated = GC.GetTotalAllocatedBytes();
        var baseline = GC.GetGCMemoryInfo().TotalCommittedBytes;
        var restBaseline = 0L;
        var followUp = false;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = GC.GetTotalAllocatedBytes();
                var sinceLast = now - allocated;
                allocated = now;
                var committed = GC.GetGCMemoryInfo().TotalCommittedBytes;
                if (committed < baseline) baseline = committed;
                var afterBurst = ShouldTrim(sinceLast, Period, committed, baseline);
                var trim = afterBurst || ShouldTrimAtRest(sinceLast, Period, committed, restBaseline);
                var second = !trim && followUp && IsQuiet(sinceLast, Period);
                followUp = afterBurst;
                if (!trim && !second) continue;
                GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                NativeHeap.Trim();
                baseline = restBaseline = GC.GetGCMemoryInfo().TotalCommittedBytes;
                allocated = GC.GetTotalAllocatedBytes();
                logger.LogDebug("Idle memory trim: GC committed {Before} -> {After} bytes", committed, baseline);
            }
        }
        catch (OperationCanceledException) { }
    }
}

/// <summary>glibc's native heap: <c>malloc_trim</c> returns the free pages of every arena to the OS.</summary>
internal static class NativeHeap
{
    private static bool _canTrim = OperatingSystem.IsLinux();

    /// <summary>Returns the native heap's free pages to the OS; does nothing where <c>malloc_trim</c> is missing (not Linux, or a libc without it, such as musl).</summary>
    public static void Trim()
    {
        if (!_canTrim) return;
        try { MallocTrim(0); }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { _canTrim = false; }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
