using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Router.Tests.EndToEnd;

namespace Router.Tests.Admission;

/// <summary>Clients for admission tests: a WebSocket that reports the HTTP status of a refused upgrade and can connect from another loopback address.</summary>
internal static class AdmissionClients
{
    /// <summary>An HTTP handler whose connections leave from <paramref name="local"/> (e.g. 127.0.0.2: another client address).</summary>
    public static SocketsHttpHandler From(IPAddress local) => new()
    {
        ConnectCallback = async (context, ct) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(local, 0));
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    /// <summary>
    /// Connects a WebSocket (through <paramref name="handler"/> if given). Returns the socket, or null and the HTTP
    /// status when the server refused the upgrade.
    /// </summary>
    public static async Task<(ClientWebSocket? Socket, HttpStatusCode Status, string? RetryAfter)> ConnectAsync(Uri uri, HttpMessageInvoker? handler = null)
    {
        var ws = new ClientWebSocket();
        ws.Options.CollectHttpResponseDetails = true;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            if (handler is null) await ws.ConnectAsync(uri, cts.Token);
            else await ws.ConnectAsync(uri, handler, cts.Token);
            return (ws, ws.HttpStatusCode, null);
        }
        catch (WebSocketException)
        {
            var retryAfter = ws.HttpResponseHeaders?.TryGetValue("Retry-After", out var values) == true ? values.FirstOrDefault() : null;
            var status = ws.HttpStatusCode;
            ws.Dispose();
            return (null, status, retryAfter);
        }
    }

    public static Task SendJsonAsync(this ClientWebSocket ws, object value) =>
        ws.SendAsync(JsonSerializer.SerializeToUtf8Bytes(value), WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>Receives one message (or the close) within <paramref name="timeout"/>.</summary>
    public static async Task<WsMessage> ReceiveAsync(this ClientWebSocket ws, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        while (true)
        {
            var result = await ws.ReceiveAsync(chunk, cts.Token);
            if (result.MessageType == WebSocketMessageType.Close)
                return new WsMessage(WebSocketMessageType.Close, [], (int?)result.CloseStatus, result.CloseStatusDescription);
            buffer.Write(chunk, 0, result.Count);
            if (result.EndOfMessage) return new WsMessage(result.MessageType, buffer.ToArray(), null, null);
        }
    }

    /// <summary>A device auth message.</summary>
    public static object DeviceAuth(string key, string sourceId) => new { type = "device_auth", api_key = key, source_id = sourceId, platform = "test" };

    public static string Text(this WsMessage m) => Encoding.UTF8.GetString(m.Data);
}

/// <summary>A <see cref="RouterHost"/> with extra settings, started and stopped by a test.</summary>
internal sealed class OwnHost : IAsyncDisposable
{
    public RouterHost Host { get; }

    private OwnHost(RouterHost host) => Host = host;

    public static async Task<OwnHost> StartAsync(params string[] args)
    {
        var host = new RouterHost(args);
        await host.InitializeAsync();
        return new OwnHost(host);
    }

    public async ValueTask DisposeAsync() => await Host.DisposeAsync();
}
