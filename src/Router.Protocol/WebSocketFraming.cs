namespace Router.Protocol;

/// <summary>
/// Builds whole server-to-client WebSocket messages (RFC 6455 §5.2): one final frame, FIN set, no mask (a server never
/// masks), opcode text (0x1) or binary (0x2), the payload length in the 7-, 16- or 64-bit form, then the payload.
/// </summary>
/// <remarks>
/// A frame's consumer message is the same bytes for every consumer of a format, so the gateway builds the whole framed
/// message once per frame and writes it to each consumer socket as it is (no per-consumer copy); see
/// <c>Router.Gateway.Streaming.DirectSendStream</c>.
/// </remarks>
public static class WebSocketFraming
{
    /// <summary>First header byte of a final text frame (FIN + opcode 0x1).</summary>
    public const byte FinalText = 0x81;

    /// <summary>First header byte of a final binary frame (FIN + opcode 0x2).</summary>
    public const byte FinalBinary = 0x82;

    /// <summary>Header length in bytes of an unmasked frame with <paramref name="payloadLength"/> payload bytes: 2, 4 or 10.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="payloadLength"/> is negative.</exception>
    public static int HeaderLength(long payloadLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(payloadLength);
        return payloadLength < 126 ? 2 : payloadLength <= ushort.MaxValue ? 4 : 10;
    }

    /// <summary>
    /// The payload of one whole unmasked message built by <see cref="Frame"/>: <paramref name="message"/> after its 2-, 4-
    /// or 10-byte header, read from the header's 7-bit length code (0–125 the length itself, 126 a 16-bit, 127 a 64-bit length).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="message"/> is shorter than its header.</exception>
    public static ReadOnlyMemory<byte> Payload(ReadOnlyMemory<byte> message)
    {
        if (message.Length < 2) throw new ArgumentOutOfRangeException(nameof(message), "a WebSocket frame has at least 2 header bytes");
        var lengthCode = message.Span[1] & 0x7F;
        return message[(lengthCode < 126 ? 2 : lengthCode == 126 ? 4 : 10)..];
    }

    /// <summary>
    /// Returns a new array holding the header of one final unmasked frame and then <paramref name="payload"/>; the
    /// payload starts at <see cref="HeaderLength"/>(payload length).
    /// </summary>
    /// <param name="text">True for a text frame (the payload must be UTF-8), false for binary.</param>
    /// <param name="payload">The message; its length is at most <see cref="Array.MaxLength"/> minus 10 bytes.</param>
    public static byte[] Frame(bool text, ReadOnlySpan<byte> payload)
    {
        var headerLength = HeaderLength(payload.Length);
        var message = GC.AllocateUninitializedArray<byte>(headerLength + payload.Length);
        message[0] = text ? FinalText : FinalBinary;
        switch (headerLength)
        {
            case 2:
                message[1] = (byte)payload.Length;
                break;
            case 4:
                message[1] = 126;
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), (ushort)payload.Length);
                break;
            default:
                message[1] = 127;
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(message.AsSpan(2), (ulong)payload.Length);
                break;
        }
        payload.CopyTo(message.AsSpan(headerLength));
        return message;
    }
}
