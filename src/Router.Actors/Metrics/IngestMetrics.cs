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

    private static readonly UpDownCounter<long> Running =
        RouterMeter.Meter.CreateUpDownCounter<long>("router.reencode.running", "{frame}", "frames being decoded and re-encoded now");

    private static readonly UpDownCounter<long> Queued =
        RouterMeter.Meter.CreateUpDownCounter<long>("router.reencode.queued", "{frame}", "frames waiting for a re-encoding slot");

    /// <summary>Counts one rejected frame.</summary>
    public static void RecordRejected(string tenant, FrameRejectReason reason) =>
        Rejected.Add(1, new KeyValuePair<string, object?>("tenant", tenant), new KeyValuePair<string, object?>("reason", reason.ToString()));

    internal static void ReencodeRunning(int delta) => Running.Add(delta);

    internal static void ReencodeQueued(int delta) => Queued.Add(delta);
}
