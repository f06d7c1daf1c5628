using System.Net.WebSockets;
using Akka.Actor;
using Router.Actors.Gateway;
using Router.Actors.Messages;
using Router.Actors.Metrics;
using Router.Protocol;

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
/// The sending half of a consumer WebSocket. A frame delivered by the <see cref="ConsumerActor"/> is sent at once on
/// the delivering thread with the pre-built per-frame encoding (shared by all consumers); frames delivered while a
/// send is in progress wait in order and go out when it completes. The stream stage is acknowledged after each send
/// completes, so each camera has at most one frame queued or in flight here and a slow socket only slows its own
/// subscription. Sending on the delivering thread (a loopback send completes synchronously until the socket's buffer
/// fills) saves a thread-pool hand-off per frame: measured with bench/Router.Bench, S1 100 consumers.
/// </summary>
/// <remarks>
/// With a <see cref="DirectSendStream"/> (plain HTTP/1.1, see <see cref="GatewayOptions.DirectSend"/>) a frame's shared
/// framed message (<see cref="VideoFrame.FramedJpegMessage"/> and its kin) goes to the socket as it is; otherwise
/// through <see cref="WebSocket.SendAsync(ReadOnlyMemory{byte}, WebSocketMessageType, bool, CancellationToken)"/>.
/// Either way the consumer receives the same bytes.
/// </remarks>
internal sealed class ConsumerConnection(WebSocket socket, DirectSendStream? direct, FrameFormat format, CancellationToken aborted) : IFrameOutlet
{
    private readonly object _gate = new();
    private readonly Queue<(VideoFrame Frame, IActorRef AckTo, IActorRef ConsumerActor)> _waiting = new();
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _sending;
    private bool _stopping;
    private bool _countedDirect;
    private long _framesSent;

    /// <summary>Frames sent so far.</summary>
    public long FramesSent => Interlocked.Read(ref _framesSent);

    /// <summary>
    /// Completes when <see cref="StopAsync"/> was called and no send is in progress (so a close frame never tears a
    /// message), or faults when a send fails (the socket is broken).
    /// </summary>
    public Task Completion => _done.Task;

    public void Deliver(VideoFrame frame, IActorRef ackTo, IActorRef consumerActor)
    {
        lock (_gate)
        {
            if (_stopping || _done.Task.IsCompleted) return;
            if (_sending)
            {
                _waiting.Enqueue((frame, ackTo, consumerActor));
                return;
            }
            _sending = true;
        }
        SendFrom((frame, ackTo, consumerActor));
    }

    /// <summary>Stops sending: frames not yet started are dropped; see <see cref="Completion"/>.</summary>
    public Task StopAsync()
    {
        lock (_gate)
        {
            _stopping = true;
            _waiting.Clear();
            if (!_sending) _done.TrySetResult();
        }
        return _done.Task;
    }

    private void SendFrom((VideoFrame Frame, IActorRef AckTo, IActorRef ConsumerActor) item)
    {
        while (true)
        {
            ValueTask send;
            try
            {
                var framed = format switch // the frame's whole WebSocket message, built once per frame for every consumer
                {
                    FrameFormat.Json => item.Frame.FramedJsonMessage,
                    FrameFormat.Binary => item.Frame.FramedBinaryMessage,
                    _ => item.Frame.FramedJpegMessage,
                };
                if (direct is { IsDirect: true })
                {
                    if (!_countedDirect) // one send at a time: no race on the flag
                    {
                        _countedDirect = true;
                        DirectSendMetrics.DirectStream(item.Frame.Key.Tenant);
                    }
                    send = direct.SendMessageAsync(framed, aborted);
                }
                else
                {
                    send = socket.SendAsync(WebSocketFraming.Payload(framed),
                        format == FrameFormat.Json ? WebSocketMessageType.Text : WebSocketMessageType.Binary, true, aborted);
                }
            }
            catch (Exception e)
            {
                Fail(e);
                return;
            }
            if (!send.IsCompleted)
            {
                _ = AwaitThenContinueAsync(send, item);
                return;
            }
            if (!Sent(send, item, out var next)) return;
            item = next;
        }
    }

    private async Task AwaitThenContinueAsync(ValueTask send, (VideoFrame Frame, IActorRef AckTo, IActorRef ConsumerActor) item)
    {
        try { await send; }
        catch (Exception e)
        {
            Fail(e);
            return;
        }
        if (Sent(ValueTask.CompletedTask, item, out var next)) SendFrom(next);
    }

    /// <summary>Acks a finished send; returns the next waiting frame (and stays "sending") or false when idle.</summary>
    private bool Sent(ValueTask send, (VideoFrame Frame, IActorRef AckTo, IActorRef ConsumerActor) item, out (VideoFrame, IActorRef, IActorRef) next)
    {
        next = default;
        try { send.GetAwaiter().GetResult(); }
        catch (Exception e)
        {
            Fail(e);
            return false;
        }
        Interlocked.Increment(ref _framesSent);
        TenantMetrics.FrameSent(item.Frame.Key.Tenant);
        item.AckTo.Tell(StreamAck.Instance, item.ConsumerActor);
        lock (_gate)
        {
            if (!_stopping && _waiting.TryDequeue(out next)) return true;
            _sending = false;
            if (_stopping) _done.TrySetResult();
            return false;
        }
    }

    private void Fail(Exception e)
    {
        lock (_gate)
        {
            _sending = false;
            _waiting.Clear();
        }
        _done.TrySetException(e);
    }
}
