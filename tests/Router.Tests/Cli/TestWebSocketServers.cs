using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Router.Tests.Cli;

/// <summary>A real Kestrel server on 127.0.0.1:0 with WebSockets; subclasses map their endpoint.</summary>
internal abstract class KestrelTestServer : IAsyncDisposable
{
    private WebApplication? app;

    public Uri BaseUrl { get; private set; } = null!;

    protected async Task StartAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Test" });
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.UseWebSockets();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUrl = new Uri(address.Replace("http://", "ws://", StringComparison.Ordinal));
    }

    public async ValueTask DisposeAsync()
    {
        if (app is null) return;
        await app.StopAsync();
        await app.DisposeAsync();
    }

    public static async Task<(WebSocketMessageType Type, byte[] Data)> ReceiveAsync(WebSocket ws, CancellationToken ct)
    {
        var buffer = new ArrayBufferWriter<byte>();
        while (true)
        {
            var result = await ws.ReceiveAsync(buffer.GetMemory(64 * 1024), ct);
            if (result.MessageType == WebSocketMessageType.Close) return (WebSocketMessageType.Close, []);
            buffer.Advance(result.Count);
            if (result.EndOfMessage) return (result.MessageType, buffer.WrittenSpan.ToArray());
        }
    }

    public static Task SendTextAsync(WebSocket ws, object payload, CancellationToken ct) =>
        ws.SendAsync(JsonSerializer.SerializeToUtf8Bytes(payload), WebSocketMessageType.Text, true, ct);

    /// <summary>A port on 127.0.0.1 where nothing listens (bound once, then released): connections are refused.</summary>
    public static int RefusingPort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

/// <summary>One device connection as the test server saw it.</summary>
internal sealed class DeviceConnection
{
    public required JsonElement Auth { get; init; }

    public ConcurrentQueue<byte[]> Binary { get; } = new();

    public ConcurrentQueue<string> Text { get; } = new();

    public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// Minimal Plexus device endpoint <c>/ws/device</c>: checks <c>device_auth</c> (right key → <c>authenticated</c>,
/// wrong key → <c>error</c> + close 1008), then records every message. Optionally rejects every frame with an error
/// reply, or drops the connection after some frames.
/// </summary>
internal sealed class TestDeviceServer : KestrelTestServer
{
    private readonly Channel<DeviceConnection> connections = Channel.CreateUnbounded<DeviceConnection>();
    private readonly Channel<byte[]> frames = Channel.CreateUnbounded<byte[]>();
    private int attempts;

    private TestDeviceServer(string apiKey) => ApiKey = apiKey;

    public string ApiKey { get; }

    /// <summary>Reply <c>{"type":"error"}</c> to every frame (connection stays open).</summary>
    public bool RejectFrames { get; init; }

    /// <summary>Abort the first connection after this many frames (connection loss).</summary>
    public int? AbortFirstConnectionAfter { get; init; }

    public Uri DeviceUrl => new(BaseUrl, "/ws/device");

    /// <summary>WebSocket connections accepted (authenticated or not).</summary>
    public int Attempts => Volatile.Read(ref attempts);

    public ChannelReader<DeviceConnection> Connections => connections.Reader;

    /// <summary>Every binary message of every connection, in arrival order.</summary>
    public ChannelReader<byte[]> Frames => frames.Reader;

    public static async Task<TestDeviceServer> StartAsync(string apiKey, bool rejectFrames = false, int? abortFirstConnectionAfter = null)
    {
        var server = new TestDeviceServer(apiKey) { RejectFrames = rejectFrames, AbortFirstConnectionAfter = abortFirstConnectionAfter };
        await server.StartAsync(app => app.Map("/ws/device", server.HandleAsync));
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest) { context.Response.StatusCode = 400; return; }
        using var ws = await context.WebSockets.AcceptWebSocketAsync();
        var number = Interlocked.Increment(ref attempts);
        var ct = context.RequestAborted;
        var (type, data) = await ReceiveAsync(ws, ct);
        if (type != WebSocketMessageType.Text) return;
        var connection = new DeviceConnection { Auth = JsonDocument.Parse(data).RootElement.Clone() };
        connections.Writer.TryWrite(connection);
        try
        {
            var key = connection.Auth.TryGetProperty("api_key", out var k) ? k.GetString() : null;
            if (key != ApiKey)
            {
                await SendTextAsync(ws, new { type = "error", message = "invalid api key" }, ct);
                await ws.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, "invalid api key", ct);
                await ReceiveAsync(ws, ct); // the client's close
                return;
            }
            await SendTextAsync(ws, new
            {
                type = "authenticated",
                source_id = connection.Auth.GetProperty("source_id").GetString(),
                server_time_ms = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            }, ct);
            var received = 0;
            while (true)
            {
                (type, data) = await ReceiveAsync(ws, ct);
                if (type == WebSocketMessageType.Close)
                {
                    await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", ct);
                    return;
                }
                if (type == WebSocketMessageType.Binary)
                {
                    connection.Binary.Enqueue(data);
                    frames.Writer.TryWrite(data);
                }
                else
                {
                    connection.Text.Enqueue(Encoding.UTF8.GetString(data));
                }
                received++;
                if (RejectFrames)
                    await SendTextAsync(ws, new { type = "error", message = $"frame rejected (test): #{received}" }, ct);
                if (number == 1 && received == AbortFirstConnectionAfter)
                {
                    ws.Abort();
                    return;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // Client went away.
        }
        finally
        {
            connection.Ended.TrySetResult();
        }
    }
}

/// <summary>
/// Minimal Plexus consumer endpoint <c>/v1/sources/{source_id}/video/stream</c>: expects <c>{"type":"auth"}</c>
/// (wrong key → close 4001), sends <c>init</c>, then the given frames in the requested format, then closes 4008.
/// </summary>
internal sealed class TestConsumerServer : KestrelTestServer
{
    private readonly string apiKey;
    private readonly IReadOnlyList<(string Camera, byte[] Jpeg, int Width, int Height)> frames;
    private readonly TimeSpan frameAge;

    private TestConsumerServer(string apiKey, IReadOnlyList<(string, byte[], int, int)> frames, TimeSpan frameAge)
    {
        this.apiKey = apiKey;
        this.frames = frames;
        this.frameAge = frameAge;
    }

    /// <summary>Path and query of the last request.</summary>
    public string? LastRequest { get; private set; }

    /// <summary>The first message the client sent.</summary>
    public JsonElement? AuthMessage { get; private set; }

    /// <summary>When false the server keeps the stream open after the frames (for client-side stop tests).</summary>
    public bool CloseAfterFrames { get; init; } = true;

    public static async Task<TestConsumerServer> StartAsync(
        string apiKey, IReadOnlyList<(string, byte[], int, int)> frames, TimeSpan frameAge, bool closeAfterFrames = true)
    {
        var server = new TestConsumerServer(apiKey, frames, frameAge) { CloseAfterFrames = closeAfterFrames };
        await server.StartAsync(app => app.Map("/v1/sources/{sourceId}/video/stream", server.HandleAsync));
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        LastRequest = context.Request.Path + context.Request.QueryString;
        if (!context.WebSockets.IsWebSocketRequest) { context.Response.StatusCode = 400; return; }
        using var ws = await context.WebSockets.AcceptWebSocketAsync();
        var ct = context.RequestAborted;
        var sourceId = (string)context.Request.RouteValues["sourceId"]!;
        var format = context.Request.Query["format"].ToString();
        try
        {
            var (_, data) = await ReceiveAsync(ws, ct);
            var auth = JsonDocument.Parse(data).RootElement.Clone();
            AuthMessage = auth;
            if (auth.GetProperty("type").GetString() != "auth" || auth.GetProperty("api_key").GetString() != apiKey)
            {
                await ws.CloseOutputAsync((WebSocketCloseStatus)4001, "unauthorized", ct);
                await ReceiveAsync(ws, ct);
                return;
            }
            var cameras = frames.Select(f => f.Camera).Distinct().Select(c => new { camera_id = c, video_type = "normal" }).ToArray();
            await SendTextAsync(ws, new { type = "init", online_sources = new[] { new { source_id = sourceId, platform = "router-cli", cameras } } }, ct);
            foreach (var (camera, jpeg, width, height) in frames)
            {
                var timestamp = DateTimeOffset.UtcNow.Subtract(frameAge).ToUnixTimeMilliseconds();
                switch (format)
                {
                    case "binary":
                        var message = Router.Protocol.BinaryFrameCodec.Encode(
                            new Router.Protocol.BinaryFrameHeader(sourceId, camera, width, height, timestamp), jpeg);
                        await ws.SendAsync(message, WebSocketMessageType.Binary, true, ct);
                        break;
                    case "jpeg":
                        await ws.SendAsync(jpeg, WebSocketMessageType.Binary, true, ct);
                        break;
                    default:
                        await SendTextAsync(ws, new { type = "video_frame", source_id = sourceId, camera_id = camera, frame = Convert.ToBase64String(jpeg), width, height, timestamp }, ct);
                        break;
                }
            }
            if (CloseAfterFrames)
                await ws.CloseOutputAsync((WebSocketCloseStatus)4008, "stream timeout", ct);
            // Wait for the client's close (or its own close when it stops first).
            while ((await ReceiveAsync(ws, ct)).Type != WebSocketMessageType.Close)
            {
            }
            if (!CloseAfterFrames) await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", ct);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // Client went away.
        }
    }
}
