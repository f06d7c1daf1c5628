using System.Diagnostics.Metrics;
using Router.Actors.Metrics;

namespace Router.Gateway.Admission;

/// <summary>Names of the admission limits, as used in the <c>limit</c> tag of <see cref="AdmissionMetrics"/>.</summary>
internal static class Limits
{
    public const string AuthFailures = "auth_failures";
    public const string IngestRequests = "ingest_requests";
    public const string IngestBytes = "ingest_bytes";
    public const string HeldBodies = "held_bodies";
    public const string BodyReadTimeout = "body_read_timeout";
    public const string DeviceMessages = "device_messages";
    public const string DeviceCameras = "device_cameras";
    public const string ConsumerCameras = "consumer_cameras";
    public const string ConsumerConnections = "consumer_connections";
    public const string ConsumerConnects = "consumer_connects";
    public const string Subscriptions = "subscriptions";
}

/// <summary>
/// Admission counters on the shared <see cref="RouterMeter.Meter"/>: <c>router.admission.refused</c> (requests,
/// connections and device messages refused by a limit; tags <c>limit</c> and <c>tenant</c>, the tenant empty where it
/// is not known yet) and <c>router.device.frames_dropped</c> (device frames replaced by a newer frame of the same camera
/// before the camera took them; tag <c>tenant</c>).
/// </summary>
internal static class AdmissionMetrics
{
    private static readonly Counter<long> RefusedCounter =
        RouterMeter.Meter.CreateCounter<long>("router.admission.refused", "{refusal}", "requests, connections and messages refused by an admission limit");

    private static readonly Counter<long> DroppedCounter =
        RouterMeter.Meter.CreateCounter<long>("router.device.frames_dropped", "{frame}", "device frames replaced by a newer frame of their camera before the camera took them");

    /// <summary>Counts <paramref name="count"/> refusals by <paramref name="limit"/> (one of <see cref="Limits"/>).</summary>
    public static void Refused(string limit, string? tenant, long count = 1) =>
        RefusedCounter.Add(count, new KeyValuePair<string, object?>("limit", limit), new KeyValuePair<string, object?>("tenant", tenant ?? string.Empty));

    /// <summary>Counts device frames replaced by newer ones.</summary>
    public static void FramesDropped(string tenant, long count) =>
        DroppedCounter.Add(count, new KeyValuePair<string, object?>("tenant", tenant));
}
