using System.Diagnostics.Metrics;

namespace Router.Actors.Metrics;

/// <summary>
/// Counters of the frame path's self-healing (issue 8: every wait has a deadline, every stage restarts). Each counts
/// one recovery, never a frame; tags are bounded (<c>target</c>, <c>reason</c>), never a camera id.
/// </summary>
internal static class StreamRecoveryMetrics
{
    /// <summary>
    /// <c>router.fanout.ack_timeouts</c>: fan-out slots re-armed because their subscriber's <c>StreamAck</c> did not
    /// come within the ack timeout (a frame or an ack lost). Tag <c>target</c>: <c>remote</c> or <c>local</c>.
    /// </summary>
    public static readonly Counter<long> AckTimeouts =
        RouterMeter.Meter.CreateCounter<long>("router.fanout.ack_timeouts", "{slot}", "Fan-out slots re-armed after an ack timeout");

    /// <summary>
    /// <c>router.fanout.stage_restarts</c>: fan-out streams that failed or completed while they had subscriptions and
    /// were started again with their subscriptions re-attached. Tag <c>reason</c>: <c>failed</c> or <c>completed</c>.
    /// </summary>
    public static readonly Counter<long> StageRestarts =
        RouterMeter.Meter.CreateCounter<long>("router.fanout.stage_restarts", "{stream}", "Fan-out streams restarted");

    /// <summary>
    /// <c>router.fanout.send_failures</c>: subscriptions dropped by the fan-out stage because sending to their
    /// subscriber threw (the other subscriptions of the camera go on).
    /// </summary>
    public static readonly Counter<long> SendFailures =
        RouterMeter.Meter.CreateCounter<long>("router.fanout.send_failures", "{subscription}", "Subscriptions dropped because a send threw");

    /// <summary>
    /// <c>router.relay.resubscribes</c>: a gateway relay subscribed to its camera again. Tag <c>reason</c>:
    /// <c>ended</c> (the upstream subscription completed or failed), <c>member-lost</c> (its host became unreachable or
    /// was removed), <c>start-timeout</c> (no <c>SubscriptionStarted</c> in time), <c>stalled</c> (the camera is online
    /// and has newer frames, but none reached the relay for the stall timeout).
    /// </summary>
    public static readonly Counter<long> RelayResubscribes =
        RouterMeter.Meter.CreateCounter<long>("router.relay.resubscribes", "{subscription}", "Relay upstream re-subscriptions");

    /// <summary>
    /// <c>router.relay.passivation_buffered</c>: subscribe/unsubscribe messages the relay registry held back while a
    /// relay was stopping, then delivered to the relay (passivation cancelled) or to its successor.
    /// </summary>
    public static readonly Counter<long> RelayPassivationBuffered =
        RouterMeter.Meter.CreateCounter<long>("router.relay.passivation_buffered", "{message}", "Relay messages buffered during passivation");

    /// <summary>
    /// <c>router.subscription.start_retries</c>: consumer subscriptions retried because no <c>SubscriptionStarted</c>
    /// came within the start timeout.
    /// </summary>
    public static readonly Counter<long> SubscriptionStartRetries =
        RouterMeter.Meter.CreateCounter<long>("router.subscription.start_retries", "{subscription}", "Consumer subscriptions retried after a start timeout");

    /// <summary>
    /// <c>router.relay.new_cameras_deferred</c>: subscriptions to a camera the gateway did not relay yet that were
    /// answered "retry" because the tenant started more new cameras than <c>Router:Camera:NewCamerasPerSecondPerTenant</c>
    /// allows. Tag <c>tenant</c>.
    /// </summary>
    public static readonly Counter<long> NewCamerasDeferred =
        RouterMeter.Meter.CreateCounter<long>("router.relay.new_cameras_deferred", "{subscription}", "Subscriptions deferred by the new-camera rate per tenant");
}
