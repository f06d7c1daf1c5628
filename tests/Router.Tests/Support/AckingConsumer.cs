using Akka.Actor;
using Router.Actors.Messages;

namespace Router.Tests.Support;

/// <summary>A subscriber that acks every signal and frame at once and passes everything it gets to a probe.</summary>
internal sealed class AckingConsumer : ReceiveActor
{
    public AckingConsumer(IActorRef probe)
    {
        Receive<SubscriptionStarted>(m =>
        {
            Sender.Tell(StreamAck.Instance);
            probe.Tell(m);
        });
        Receive<VideoFrame>(m =>
        {
            Sender.Tell(StreamAck.Instance);
            probe.Tell(m);
        });
        ReceiveAny(m => probe.Tell(m));
    }
}
