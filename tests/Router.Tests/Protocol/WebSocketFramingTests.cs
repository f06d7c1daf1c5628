using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Text;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Protocol;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Protocol;

/// <summary>
/// <see cref="WebSocketFraming"/> read back by a real RFC 6455 parser: .NET's own client WebSocket over a stream that
/// holds the framed messages back to back (a wrong length would also garble the message after it). And the framed
/// encodings <see cref="VideoFrame"/> caches for the direct send path.
/// </summary>
public sealed class WebSocketFramingTests
{
    public static TheoryData<int, bool> Lengths()
    {
        var data = new TheoryData<int, bool>();
        foreach (var length in new[] { 0, 1, 125, 126, 127, 65535, 65536, 65537, 1_048_576 + 7 })
        {
            data.Add(length, true);
            data.Add(length, false);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public async Task A_framed_message_is_received_whole_by_the_dotnet_client_WebSocket(int length, bool text)
    {
        var payload = Payload(length, text, seed: length);
        var after = Payload(130, text: true, seed: 1); // a second message right behind: the first's length must be exact
        var wire = new MemoryStream();
        wire.Write(WebSocketFraming.Frame(text, payload));
        wire.Write(WebSocketFraming.Frame(text: true, after));
        wire.Position = 0;
        using var client = WebSocket.CreateFromStream(wire, new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });

        var (type, received) = await ReceiveMessageAsync(client);
        Assert.Equal(text ? WebSocketMessageType.Text : WebSocketMessageType.Binary, type);
        Assert.True(payload.AsSpan().SequenceEqual(received), $"payload of {length} bytes differs");
        var (nextType, next) = await ReceiveMessageAsync(client);
        Assert.Equal(WebSocketMessageType.Text, nextType);
        Assert.Equal(after, next);
        Assert.Equal(WebSocketState.Open, client.State);
    }

    [Theory]
    [InlineData(0, 2)]
    [InlineData(125, 2)]
    [InlineData(126, 4)]
    [InlineData(65535, 4)]
    [InlineData(65536, 10)]
    [InlineData(1_048_576, 10)]
    public void The_header_is_the_7_16_or_64_bit_length_form_with_FIN_and_no_mask(int length, int headerLength)
    {
        Assert.Equal(headerLength, WebSocketFraming.HeaderLength(length));
        var framed = WebSocketFraming.Frame(text: false, new byte[length]);
        Assert.Equal(headerLength + length, framed.Length);
        Assert.Equal(0x82, framed[0]);
        Assert.Equal(0, framed[1] & 0x80); // a server never masks
        Assert.Equal(0x81, WebSocketFraming.Frame(text: true, [])[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => WebSocketFraming.HeaderLength(-1));
    }

    /// <summary>Tiny, 16-bit and 64-bit length messages: a 4-byte JPEG, a real 56 KB frame (its JSON is over 64 KiB).</summary>
    public static TheoryData<int> Jpegs() => new() { -1, 0, 1 };

    [Theory]
    [MemberData(nameof(Jpegs))]
    public async Task VideoFrame_messages_are_the_payloads_of_their_framed_forms_and_what_the_encoders_build(int which)
    {
        var jpeg = which < 0 ? new byte[] { 0xFF, 0xD8, 0xFF, 0xD9 } : TestFrames.Vtest[which];
        var frame = new VideoFrame(new StreamKey("acme", "src-1", "cam/ä"), jpeg, 768, 576, 1_700_000_000_123, 7, false);
        var json = PlexusJson.BuildVideoFrame("src-1", "cam/ä", jpeg, 768, 576, 1_700_000_000_123);
        var binary = BinaryFrameCodec.Encode(new BinaryFrameHeader("src-1", "cam/ä", 768, 576, 1_700_000_000_123), jpeg);

        Assert.Equal(json, frame.JsonMessage.ToArray());
        Assert.Equal(binary, frame.BinaryMessage.ToArray());
        Assert.Equal(WebSocketFraming.Frame(text: true, json), frame.FramedJsonMessage.ToArray());
        Assert.Equal(WebSocketFraming.Frame(text: false, binary), frame.FramedBinaryMessage.ToArray());
        Assert.Equal(WebSocketFraming.Frame(text: false, jpeg), frame.FramedJpegMessage.ToArray());
        // The payload is a slice of the framed array, not a copy.
        Assert.Same(ArrayOf(frame.FramedJsonMessage), ArrayOf(frame.JsonMessage));
        Assert.Same(ArrayOf(frame.FramedBinaryMessage), ArrayOf(frame.BinaryMessage));

        // And the real parser reads the three framed messages back as the consumer formats.
        var wire = new MemoryStream();
        wire.Write(frame.FramedJsonMessage.Span);
        wire.Write(frame.FramedBinaryMessage.Span);
        wire.Write(frame.FramedJpegMessage.Span);
        wire.Position = 0;
        using var client = WebSocket.CreateFromStream(wire, new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
        foreach (var (type, payload) in new[] { (WebSocketMessageType.Text, json), (WebSocketMessageType.Binary, binary), (WebSocketMessageType.Binary, jpeg) })
        {
            var received = await ReceiveMessageAsync(client);
            Assert.Equal(type, received.Type);
            Assert.Equal(payload, received.Payload);
        }
    }

    [Fact]
    public void Concurrent_first_access_from_many_threads_builds_each_message_once()
    {
        const int threads = 16;
        for (var round = 0; round < 20; round++)
        {
            var frame = new VideoFrame(new StreamKey("acme", "src", "cam"), TestFrames.Vtest[round % TestFrames.Vtest.Count], 768, 576, round, round + 1, false);
            var seen = new byte[threads][][];
            using var start = new Barrier(threads);
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                start.SignalAndWait();
                // Each thread touches the three encodings in a different order, half of them through the payload slice.
                var order = t % 2 == 0
                    ? new Func<ReadOnlyMemory<byte>>[] { () => frame.JsonMessage, () => frame.FramedBinaryMessage, () => frame.FramedJpegMessage }
                    : [() => frame.FramedJpegMessage, () => frame.BinaryMessage, () => frame.FramedJsonMessage];
                var arrays = order.Select(get => ArrayOf(get())).ToArray();
                seen[t] = t % 2 == 0 ? arrays : [arrays[2], arrays[1], arrays[0]]; // json, binary, jpeg
            })).ToList();
            workers.ForEach(w => w.Start());
            workers.ForEach(w => Assert.True(w.Join(TimeSpan.FromSeconds(10)), "a thread did not finish"));
            for (var kind = 0; kind < 3; kind++)
            {
                var first = seen[0][kind];
                Assert.All(seen, s => Assert.Same(first, s[kind]));
            }
            Assert.Same(seen[0][0], ArrayOf(frame.FramedJsonMessage));
        }
    }

    private static byte[] ArrayOf(ReadOnlyMemory<byte> memory) =>
        MemoryMarshal.TryGetArray(memory, out var segment) ? segment.Array! : throw new InvalidOperationException("not array-backed");

    /// <summary>Deterministic bytes; for text, valid UTF-8 (ASCII and two-byte characters) of exactly <paramref name="length"/> bytes.</summary>
    private static byte[] Payload(int length, bool text, int seed)
    {
        var random = new Random(seed);
        if (!text)
        {
            var bytes = new byte[length];
            random.NextBytes(bytes);
            return bytes;
        }
        var builder = new StringBuilder(length);
        var used = 0;
        while (used < length)
        {
            if (length - used >= 2 && random.Next(4) == 0)
            {
                builder.Append('é');
                used += 2;
            }
            else
            {
                builder.Append((char)random.Next('a', 'z' + 1));
                used++;
            }
        }
        var utf8 = Encoding.UTF8.GetBytes(builder.ToString());
        Assert.Equal(length, utf8.Length);
        return utf8;
    }

    /// <summary>Receives one whole message; every chunk has its type, only the last one EndOfMessage.</summary>
    private static async Task<(WebSocketMessageType Type, byte[] Payload)> ReceiveMessageAsync(WebSocket client)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var message = new MemoryStream();
        var chunk = new byte[256 * 1024];
        WebSocketMessageType? type = null;
        while (true)
        {
            var result = await client.ReceiveAsync(chunk, cts.Token);
            Assert.NotEqual(WebSocketMessageType.Close, result.MessageType);
            type ??= result.MessageType;
            Assert.Equal(type, result.MessageType);
            message.Write(chunk, 0, result.Count);
            if (result.EndOfMessage) return (type.Value, message.ToArray());
        }
    }
}
