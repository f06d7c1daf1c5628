using System.Diagnostics.Metrics;
using Router.Actors.Metrics;

namespace Router.Gateway.Ingest;

/// <summary>
/// Instruments of raw frame ingest on the shared <see cref="RouterMeter.Meter"/>: <c>router.raw.encoded</c> (raw frames
/// encoded to JPEG by this gateway; tags <c>tenant</c>, <c>format</c>), <c>router.raw.encode.duration</c> (ms per
/// encode, conversion and JPEG; tag <c>format</c>), <c>router.raw.dropped</c> (raw frames not encoded; tags
/// <c>tenant</c> and <c>reason</c>: <c>replaced</c> by a newer frame of the same camera, <c>busy</c> (slots and queue
/// full), <c>expired</c> (waited past the ingest timeout)) and <c>router.raw.rejected</c> (raw frames refused before
/// any work; tags <c>tenant</c>, <c>reason</c>: <c>malformed</c>, <c>length</c>, <c>pixels</c>, <c>size</c>).
/// </summary>
internal static class RawIngestMetrics
{
    /// <summary>Drop reasons (the <c>reason</c> tag of <c>router.raw.dropped</c>).</summary>
    public const string Replaced = "replaced", Busy = "busy", Expired = "expired";

    /// <summary>Rejection reasons (the <c>reason</c> tag of <c>router.raw.rejected</c>).</summary>
    public const string Malformed = "malformed", Length = "length", Pixels = "pixels", Size = "size";

    private static readonly Counter<long> EncodedCounter =
        RouterMeter.Meter.CreateCounter<long>("router.raw.encoded", "{frame}", "raw frames encoded to JPEG by this gateway, by tenant and pixel format");

    private static readonly Histogram<double> EncodeDuration =
        RouterMeter.Meter.CreateHistogram<double>("router.raw.encode.duration", "ms", "time to convert and JPEG-encode one raw frame, by pixel format");

    private static readonly Counter<long> DroppedCounter =
        RouterMeter.Meter.CreateCounter<long>("router.raw.dropped", "{frame}", "raw frames not encoded: replaced by a newer frame of their camera, busy or expired");

    private static readonly Counter<long> RejectedCounter =
        RouterMeter.Meter.CreateCounter<long>("router.raw.rejected", "{frame}", "raw frames refused before any work, by tenant and reason");

    /// <summary>Counts one encoded frame that took <paramref name="milliseconds"/>.</summary>
    public static void Encoded(string tenant, string format, double milliseconds)
    {
        EncodedCounter.Add(1, new KeyValuePair<string, object?>("tenant", tenant), new KeyValuePair<string, object?>("format", format));
        EncodeDuration.Record(milliseconds, new KeyValuePair<string, object?>("format", format));
    }

    /// <summary>Counts one dropped frame (<paramref name="reason"/> one of the drop reasons).</summary>
    public static void Dropped(string tenant, string reason) =>
        DroppedCounter.Add(1, new KeyValuePair<string, object?>("tenant", tenant), new KeyValuePair<string, object?>("reason", reason));

    /// <summary>Counts one refused frame (<paramref name="reason"/> one of the rejection reasons).</summary>
    public static void Rejected(string tenant, string reason) =>
        RejectedCounter.Add(1, new KeyValuePair<string, object?>("tenant", tenant), new KeyValuePair<string, object?>("reason", reason));
}
