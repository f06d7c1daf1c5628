using System.Net.Sockets;
using System.Net.WebSockets;
using Router.Gateway.Streaming;
using Xunit;

namespace Router.Tests.Streaming;

/// <summary>
/// <see cref="WebSocketMessages.ReceiveAsync(WebSocket, int, int, CancellationToken, int)"/> over a real WebSocket pair
/// (.NET's managed WebSocket on both ends of a connected TCP socket pair on loopback).
/// </summary>
public sealed class WebSocketMessagesTests : IAsyncLifetime
{
    private Socket? _listener;
    private WebSocket _client = null!;
    private WebSocket _server = null!;

    public async Task InitializeAsync()
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        _listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = _listener.AcceptAsync();
        await client.ConnectAsync(_listener.LocalEndPoint!);
        var server = await accept;
        _client = WebSocket.CreateFromStream(new NetworkStream(client, ownsSocket: true), isServer: false, subProtocol: null, TimeSpan.Zero);
        _server = WebSocket.CreateFromStream(new NetworkStream(server, ownsSocket: true), isServer: true, subProtocol: null, TimeSpan.Zero);
    }

    public Task DisposeAsync()
    {
        _client.Dispose();
        _server.Dispose();
        _listener?.Dispose();
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData(0)] // no hint: the buffer doubles from 16 KiB
    [InlineData(57_000)] // the previous frame's size
    [InlineData(1_000)] // a hint smaller than the message
    [InlineData(8_000_000)] // a hint far above the limit: capped by it
    public async Task Messages_of_every_size_arrive_whole_whatever_the_hint(int hint)
    {
        var random = new Random(hint);
        foreach (var size in new[] { 1, 16 * 1024, 16 * 1024 + 1, 57_000, 90_000, 200_000 })
        {
            var sent = new byte[size];
            random.NextBytes(sent);
            var send = _client.SendAsync(sent, WebSocketMessageType.Binary, true, CancellationToken.None);
            using var received = await WebSocketMessages.ReceiveAsync(_server, 200_000, 200_000, CancellationToken.None, hint).WaitAsync(TimeSpan.FromSeconds(10));
            await send;
            Assert.False(received.TooBig);
            Assert.Equal(WebSocketMessageType.Binary, received.Kind);
            Assert.True(received.Span.SequenceEqual(sent), $"{size} bytes with hint {hint} differ");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(57_000)]
    [InlineData(8_000_000)]
    public async Task A_message_over_the_limit_is_TooBig_whatever_the_hint(int hint)
    {
        var send = _client.SendAsync(new byte[100_001], WebSocketMessageType.Binary, true, CancellationToken.None);
        using var received = await WebSocketMessages.ReceiveAsync(_server, 100_000, 100_000, CancellationToken.None, hint).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(received.TooBig);
        Assert.True(received.Length > 100_000);
        Assert.True(received.Buffer.Length <= 256 * 1024, $"a {received.Buffer.Length}-byte buffer for a 100,000-byte limit");
        await send.WaitAsync(TimeSpan.FromSeconds(10)); // the read stopped at limit + 1 = all 100,001 bytes, so the send completes
    }
}
