using System.Net.Sockets;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Router.Gateway.Streaming;

/// <summary>
/// The stream under a consumer WebSocket that writes straight to the connection's socket instead of through Kestrel's
/// output pipe. Reads go through Kestrel's upgraded stream as usual. Every write (the frames of
/// <see cref="SendMessageAsync"/> and the control frames .NET's WebSocket writes through <see cref="Stream.WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/>:
/// pong, ping, close) holds one write lock, so messages never interleave on the wire.
/// </summary>
/// <remarks>
/// <para>Why: a frame's message is the same bytes for every consumer (<c>VideoFrame.FramedJpegMessage</c> and its
/// kin), so a consumer's send is one <c>send(2)</c> of that shared array. Through <see cref="System.Net.WebSockets.WebSocket.SendAsync(ReadOnlyMemory{byte}, System.Net.WebSockets.WebSocketMessageType, bool, CancellationToken)"/>
/// the same send costs a copy into the WebSocket's send buffer, a copy into Kestrel's pipe and a hand-off to
/// Kestrel's I/O thread. Measured in docs/benchmarks.md ("Direct send").</para>
/// <para>Until the client's first bytes arrive, writes still go through Kestrel: the 101 response Kestrel wrote may
/// still be in its pipe, and a client sends nothing before it has read the 101 (RFC 6455 §4.1). A client that sends
/// early anyway can only garble its own connection.</para>
/// <para>Installed by <see cref="DirectSendUpgradeFeature"/> on plain (not TLS) HTTP/1.1 connections of Kestrel's socket
/// transport; elsewhere the consumer WebSocket writes through Kestrel as before.</para>
/// </remarks>
internal sealed class DirectSendStream(Stream upgraded, Socket socket) : Stream
{
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private volatile bool _direct;
    private volatile bool _broken;

    /// <summary>True once the client's first bytes were read: writes then go to the socket.</summary>
    public bool IsDirect => _direct;

    /// <summary>
    /// Writes one whole, already framed WebSocket message (RFC 6455 header and payload, see
    /// <see cref="Router.Protocol.WebSocketFraming"/>) to the socket. Completes synchronously when the socket's send
    /// buffer takes it all, the common case. <paramref name="message"/> is not copied and must not change until the
    /// returned task completes.
    /// </summary>
    /// <exception cref="InvalidOperationException"><see cref="IsDirect"/> is false.</exception>
    /// <exception cref="IOException">An earlier write was cancelled part-way, so the connection carries a torn message.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired; the connection is then broken.</exception>
    /// <exception cref="SocketException">The socket failed.</exception>
    public ValueTask SendMessageAsync(ReadOnlyMemory<byte> message, CancellationToken cancel)
    {
        if (!_direct) throw new InvalidOperationException("the client has not sent anything yet");
        if (!_writeLock.Wait(0)) return SendLockedAsync(message, cancel);
        ValueTask<int> send;
        try
        {
            ThrowIfBroken();
            send = socket.SendAsync(message, SocketFlags.None, cancel);
        }
        catch
        {
            _writeLock.Release();
            throw;
        }
        if (!send.IsCompletedSuccessfully) return FinishAsync(send, message, cancel);
        var sent = send.Result; // a ValueTask is consumed once
        if (sent == message.Length)
        {
            _writeLock.Release();
            return ValueTask.CompletedTask;
        }
        return FinishAsync(ValueTask.FromResult(sent), message, cancel);
    }

    private async ValueTask FinishAsync(ValueTask<int> started, ReadOnlyMemory<byte> message, CancellationToken cancel)
    {
        try
        {
            var sent = await started.ConfigureAwait(false);
            await SendAllAsync(message[sent..], cancel).ConfigureAwait(false);
        }
        catch
        {
            _broken = true;
            throw;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Waits for the write lock, then writes <paramref name="message"/> (to the socket, or through Kestrel before the client's first bytes).</summary>
    private async ValueTask SendLockedAsync(ReadOnlyMemory<byte> message, CancellationToken cancel)
    {
        await _writeLock.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            ThrowIfBroken();
            if (_direct) await SendAllAsync(message, cancel).ConfigureAwait(false);
            else
            {
                await upgraded.WriteAsync(message, cancel).ConfigureAwait(false);
                await upgraded.FlushAsync(cancel).ConfigureAwait(false);
            }
        }
        catch
        {
            _broken = true;
            throw;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async ValueTask SendAllAsync(ReadOnlyMemory<byte> rest, CancellationToken cancel)
    {
        while (!rest.IsEmpty)
        {
            var sent = await socket.SendAsync(rest, SocketFlags.None, cancel).ConfigureAwait(false);
            if (sent <= 0) throw new IOException("the socket accepted no bytes");
            rest = rest[sent..];
        }
    }

    private void ThrowIfBroken()
    {
        if (_broken) throw new IOException("an earlier write to this WebSocket was interrupted part-way");
    }

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await upgraded.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (read > 0 && !_direct) _direct = true;
        return read;
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        SendLockedAsync(buffer, cancellationToken);

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask; // every write is flushed

    /// <inheritdoc />
    public override void Flush() { }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) upgraded.Dispose(); // the socket is Kestrel's: it closes it when the request ends
        base.Dispose(disposing);
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync() => upgraded.DisposeAsync();
}

/// <summary>
/// Wraps Kestrel's <see cref="IHttpUpgradeFeature"/> so that the upgraded stream the WebSocket middleware builds its
/// WebSocket on is a <see cref="DirectSendStream"/>. <see cref="TryInstall"/> runs before <c>UseWebSockets</c>, which
/// captures the upgrade feature when a request arrives.
/// </summary>
internal sealed class DirectSendUpgradeFeature(IHttpUpgradeFeature inner, Socket socket) : IHttpUpgradeFeature
{
    /// <summary>The stream made by the upgrade, or null before it.</summary>
    public DirectSendStream? Stream { get; private set; }

    /// <inheritdoc />
    public bool IsUpgradableRequest => inner.IsUpgradableRequest;

    /// <inheritdoc />
    public async Task<Stream> UpgradeAsync()
    {
        var upgraded = await inner.UpgradeAsync().ConfigureAwait(false);
        return Stream = new DirectSendStream(upgraded, socket);
    }

    /// <summary>
    /// Installs the wrapper on <paramref name="context"/> when it is an upgradable HTTP/1.1 request on a plain socket
    /// (Kestrel's socket transport exposes <see cref="IConnectionSocketFeature"/>; TLS or another transport: not installed).
    /// </summary>
    public static void TryInstall(HttpContext context)
    {
        if (context.Request.IsHttps) return;
        var upgrade = context.Features.Get<IHttpUpgradeFeature>();
        if (upgrade is null || upgrade is DirectSendUpgradeFeature || !upgrade.IsUpgradableRequest) return;
        if (context.Features.Get<IConnectionSocketFeature>()?.Socket is not { } socket) return;
        context.Features.Set<IHttpUpgradeFeature>(new DirectSendUpgradeFeature(upgrade, socket));
    }

    /// <summary>The direct stream of <paramref name="context"/>'s upgraded WebSocket, or null when writes go through Kestrel.</summary>
    public static DirectSendStream? Of(HttpContext context) => (context.Features.Get<IHttpUpgradeFeature>() as DirectSendUpgradeFeature)?.Stream;
}
