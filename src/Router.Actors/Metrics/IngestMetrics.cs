using System.Diagnostics.Metrics;
using Router.Actors.Messages;

namespace Router.Actors.Metrics;

/// <summary>
/// Instruments of the ingest path (meter <c>Router</c>): <c>router.ingest.rejected</c> (frames a camera entity rejected,
/// tags <c>tenant</c> and <c>reason</c>, a <see cref="FrameRejectReason"/> name), and the node's re-encoding bound,
/// <c>router.reencode.running</c> and <c>router.reencode.queued</c> (frames decoding now and waiting for a slot, no tags).
/// </summary>
internal static class IngestMetrics
{
    private static readonly Counter<long> Rejected =
        RouterMeter.Meter.CreateCounter<long>("router.ingest.rejected", "{frame}", "frames rejected by camera entities, by tenant and reason");

    // Levels as observable gauges, read at each scrape (an exporter never sees them idle and resets them).
    private static long _running;
    private static long _queued;

    private static readonly ObservableGauge<long> Running =
        RouterMeter.Meter.CreateObservableGauge("router.reencode.running", () => Interlocked.Read(ref _running), "{frame}", "frames being decoded and re-encoded now");

    private static readonly ObservableGauge<long> Queued =
        RouterMeter.Meter.CreateObservableGauge("router.reencode.queued", () => Interlocked.Read(ref _queued), "{frame}", "frames waiting for a re-encoding slot");

    /// <summary>Counts one rejected frame.</summary>
    public static void RecordRejected(string tenant, FrameRejectReason reason) =>
        Rejected.Add(1, new KeyValuePair<string, object?>("tenant", tenant), new KeyValuePair<string, object?>("reason", reason.ToString()));

    internal static void ReencodeRunning(int delta) => Interlocked.Add(ref _running, delta);

    internal static void ReencodeQueued(int delta) => Interlocked.Add(ref _queued, delta);
}
