using System.Diagnostics.Metrics;

namespace Router.Actors.Metrics;

/// <summary>
/// The one System.Diagnostics.Metrics <see cref="System.Diagnostics.Metrics.Meter"/> of Router (name <c>Router</c>).
/// Every instrument of the process is created from it, so an exporter (OpenTelemetry, prometheus-net,
/// <c>dotnet-counters monitor --counters Router</c>) picks them all up by that one name. Instruments are grouped by
/// concern in their own static classes (e.g. <see cref="RemoteTraffic"/>); tags are bounded (tenant, reason), never
/// a camera id unless a class says so.
/// </summary>
public static class RouterMeter
{
    /// <summary>The meter's name: <c>Router</c>.</summary>
    public const string Name = "Router";

    /// <summary>The shared meter.</summary>
    public static readonly Meter Meter = new(Name);
}
