using System.Diagnostics.Metrics;
using Router.Actors.Metrics;

namespace Router.Gateway.Streaming;

/// <summary>
/// Instrument of the direct send path (meter <c>Router</c>): how many consumer WebSockets had their frames written
/// straight to the socket (<see cref="DirectSendStream"/>), by tenant. One increment per connection, at its first frame;
/// nothing per frame.
/// </summary>
internal static class DirectSendMetrics
{
    private static readonly Counter<long> DirectStreams =
        RouterMeter.Meter.CreateCounter<long>("router.consumer.direct_streams", "{connection}",
            "consumer WebSockets whose frames were written straight to the socket (Router:Gateway:DirectSend), counted at their first frame, by tenant");

    /// <summary>Counts one consumer WebSocket of <paramref name="tenant"/> that sent its first frame directly.</summary>
    public static void DirectStream(string tenant) => DirectStreams.Add(1, new KeyValuePair<string, object?>("tenant", tenant));
}
