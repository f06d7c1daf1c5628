using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;

namespace Router.Bench.Load;

/// <summary>How a client socket is set up.</summary>
/// <param name="LocalAddress">Source address to bind (127.0.0.x spreads ephemeral ports); null = any.</param>
/// <param name="ReceiveBufferBytes">SO_RCVBUF before connecting (0 = kernel autotuning); small values make backpressure reach the server quickly.</param>
/// <param name="WebSocketBufferBytes">ClientWebSocket's own receive/send buffer.</param>
internal sealed record ConnectOptions(IPAddress? LocalAddress = null, int ReceiveBufferBytes = 0, int WebSocketBufferBytes = 16 * 1024);

/// <summary>Opens client WebSockets over sockets the bench controls (source address, buffer sizes).</summary>
internal static class Connector
{
    /// <summary>A handler whose connections bind to <paramref name="options"/>'s address; <paramref name="onConnected"/> sees each local end point.</summary>
    public static HttpMessageInvoker CreateInvoker(ConnectOptions options, Action<IPEndPoint>? onConnected = null)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            ConnectCallback = async (context, token) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    if (options.ReceiveBufferBytes > 0) socket.ReceiveBufferSize = options.ReceiveBufferBytes;
                    if (options.LocalAddress is not null) socket.Bind(new IPEndPoint(options.LocalAddress, 0));
                    var host = IPAddress.TryParse(context.DnsEndPoint.Host, out var ip) ? ip : IPAddress.Loopback;
                    await socket.ConnectAsync(new IPEndPoint(host, context.DnsEndPoint.Port), token);
                    if (socket.LocalEndPoint is IPEndPoint local) onConnected?.Invoke(local);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpMessageInvoker(handler);
    }

    /// <summary>Connects a new ClientWebSocket to <paramref name="uri"/> through <paramref name="invoker"/>.</summary>
    public static async Task<ClientWebSocket> ConnectAsync(Uri uri, HttpMessageInvoker invoker, ConnectOptions options, CancellationToken ct)
    {
        var ws = new ClientWebSocket();
        ws.Options.KeepAliveInterval = TimeSpan.Zero;
        ws.Options.SetBuffer(options.WebSocketBufferBytes, options.WebSocketBufferBytes);
        try
        {
            await ws.ConnectAsync(uri, invoker, ct);
            return ws;
        }
        catch
        {
            ws.Dispose();
            throw;
        }
    }

    /// <summary>Connects a device to <c>/ws/device</c> and authenticates it for <paramref name="sourceId"/> (Plexus device auth).</summary>
    /// <exception cref="InvalidOperationException">The server refused the device or closed before answering (15 s).</exception>
    public static async Task<(ClientWebSocket Ws, HttpMessageInvoker Invoker)> ConnectDeviceAsync(Uri wsBase, string apiKey, string sourceId, CancellationToken ct)
    {
        var invoker = CreateInvoker(new ConnectOptions());
        var ws = await ConnectAsync(new Uri(wsBase, "/ws/device"), invoker, new ConnectOptions(), ct);
        await ws.SendAsync(Router.Protocol.PlexusJson.BuildDeviceAuth(apiKey, sourceId, "router-bench", "1"), WebSocketMessageType.Text, true, ct);
        var reply = await ReceiveTextAsync(ws, TimeSpan.FromSeconds(15), ct);
        if (reply is null || !reply.Contains("\"authenticated\"", StringComparison.Ordinal))
        {
            ws.Dispose();
            invoker.Dispose();
            throw new InvalidOperationException($"device {sourceId}: not authenticated: {reply ?? "closed"}");
        }
        return (ws, invoker);
    }

    /// <summary>Receives one whole text message (small control messages: auth replies, init); null on close.</summary>
    public static async Task<string?> ReceiveTextAsync(WebSocket ws, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        var buffer = new byte[4 * 1024];
        var len = 0;
        while (true)
        {
            if (len == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
            var r = await ws.ReceiveAsync(buffer.AsMemory(len), cts.Token);
            if (r.MessageType == WebSocketMessageType.Close) return null;
            len += r.Count;
            if (r.EndOfMessage)
                return r.MessageType == WebSocketMessageType.Text ? System.Text.Encoding.UTF8.GetString(buffer, 0, len) : "<binary>";
        }
    }

    public static void AbortQuietly(WebSocket? ws)
    {
        if (ws is null) return;
        try { ws.Abort(); } catch (Exception) { /* already gone */ }
        ws.Dispose();
    }
}
