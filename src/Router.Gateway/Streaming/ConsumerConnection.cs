using System.Net.WebSockets;
using System.Threading.Channels;
using Akka.Actor;
using Router.Actors.Messages;

namespace Router.Gateway.Streaming;

/// <summary>How a consumer receives frames (query parameter <c>format</c>).</summary>
internal enum FrameFormat
{
    /// <summary>Plexus <c>video_frame</c> JSON text with a base64 JPEG (default).</summary>
    Json,

    /// <summary>One binary message per frame in the device ingest layout.</summary>
    Binary,

    /// <summary>Bare JPEG bytes, one binary message per frame (one camera only).</summary>
    Jpeg,
}

/// <summary>
/// The sending half of a consumer WebSocket. Frames delivered by the <see cref="SubscriberActor"/> are sent by one
/// writer loop, in order, with the pre-built per-frame encoding (shared by all subscribers); the stream stage is
/// acknowledged after each send completes, so each camera has at most one frame queued or in flight here and a slow
/// socket only slows its own subscription.
/// </summary>
internal sealed class ConsumerConnection(WebSocket socket, FrameFormat format) : IFrameOutlet
{
    private readonly Channel<(VideoFrame Frame, IActorRef AckTo)> _queue =
        Channel.CreateUnbounded<(VideoFrame, IActorRef)>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Frames sent so far.</summary>
    public long FramesSent { get; private set; }

    public void Deliver(VideoFrame frame, IActorRef ackTo) => _queue.Writer.TryWrite((frame, ackTo));

    /// <summary>
    /// Sends queued frames until <paramref name="stop"/> is cancelled (checked between messages, so a send is never
    /// torn) or the socket fails. <paramref name="aborted"/> cancels a send in progress (the client is gone).
    /// </summary>
    public async Task RunWriterAsync(CancellationToken stop, CancellationToken aborted)
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync(stop))
        {
            while (!stop.IsCancellationRequested && reader.TryRead(out var item))
            {
                var (payload, type) = format switch
                {
                    FrameFormat.Json => (item.Frame.JsonMessage, WebSocketMessageType.Text),
                    FrameFormat.Binary => (item.Frame.BinaryMessage, WebSocketMessageType.Binary),
                    _ => (item.Frame.Jpeg.AsMemory(), WebSocketMessageType.Binary),
                };
                await socket.SendAsync(payload, type, true, aborted);
                FramesSent++;
                item.AckTo.Tell(StreamAck.Instance);
            }
        }
    }
}
