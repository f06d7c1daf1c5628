using Router.Actors.Identity;
using Router.Protocol;

namespace Router.Actors.Messages;

/// <summary>
/// One accepted JPEG frame of a stream, after the size policy. Immutable; crosses nodes with
/// <see cref="Serialization.RouterSerializer"/> as a binary header plus the JPEG payload.
/// </summary>
/// <remarks>
/// The wire encodings a consumer receives (Plexus JSON text with a base64 frame, or the binary frame layout) are
/// built lazily, once per frame and per process, and then shared by every subscriber on that process.
/// </remarks>
public sealed class VideoFrame : IRouterMessage
{
    private readonly Lock _encodeLock = new();
    private byte[]? _json;
    private byte[]? _binary;
    private byte[]? _jpeg;

    /// <summary>Creates a frame. The JPEG array is taken over, not copied: callers must not change it afterwards.</summary>
    /// <param name="key">The stream the frame belongs to.</param>
    /// <param name="jpeg">JPEG bytes (SOI..EOI), at most the policy's pass-through size.</param>
    /// <param name="width">Width in pixels, from the SOF header.</param>
    /// <param name="height">Height in pixels, from the SOF header.</param>
    /// <param name="timestampMs">Capture time from the device, Unix epoch milliseconds.</param>
    /// <param name="sequence">Per-entity sequence number, starting at 1, increasing by one per accepted frame.</param>
    /// <param name="reencoded">True when the size policy re-encoded the frame.</param>
    public VideoFrame(StreamKey key, byte[] jpeg, int width, int height, long timestampMs, long sequence, bool reencoded)
    {
        Key = key;
        Jpeg = jpeg;
        Width = width;
        Height = height;
        TimestampMs = timestampMs;
        Sequence = sequence;
        Reencoded = reencoded;
    }

    /// <summary>The stream (tenant, source_id, camera_id).</summary>
    public StreamKey Key { get; }

    /// <summary>JPEG bytes; never modified.</summary>
    public byte[] Jpeg { get; }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Device capture time, Unix epoch milliseconds.</summary>
    public long TimestampMs { get; }

    /// <summary>Per-entity sequence number (1, 2, …); a consumer can count gaps to see its dropped frames.</summary>
    public long Sequence { get; }

    /// <summary>True when the size policy re-encoded this frame.</summary>
    public bool Reencoded { get; }

    /// <summary>
    /// UTF-8 text of the Plexus consumer message
    /// <c>{"type":"video_frame","source_id","camera_id","frame":&lt;base64&gt;,"width","height","timestamp"}</c>,
    /// built on first use and cached (the payload of <see cref="FramedJsonMessage"/>).
    /// </summary>
    public ReadOnlyMemory<byte> JsonMessage => WebSocketFraming.Payload(FramedJsonMessage);

    /// <summary>The binary frame message (<see cref="BinaryFrameCodec"/> layout), built on first use and cached.</summary>
    public ReadOnlyMemory<byte> BinaryMessage => WebSocketFraming.Payload(FramedBinaryMessage);

    /// <summary>
    /// <see cref="JsonMessage"/> as one whole server-to-client WebSocket text message (<see cref="WebSocketFraming"/>:
    /// header, then the payload), built on first use and cached; written as is to every consumer socket of the format.
    /// </summary>
    public ReadOnlyMemory<byte> FramedJsonMessage => Volatile.Read(ref _json) ?? Encode(ref _json,
        () => WebSocketFraming.Frame(text: true, PlexusJson.BuildVideoFrame(Key.SourceId, Key.CameraId, Jpeg, Width, Height, TimestampMs)));

    /// <summary><see cref="BinaryMessage"/> as one whole WebSocket binary message, built on first use and cached.</summary>
    public ReadOnlyMemory<byte> FramedBinaryMessage => Volatile.Read(ref _binary) ?? Encode(ref _binary,
        () => WebSocketFraming.Frame(text: false,
            BinaryFrameCodec.Encode(new BinaryFrameHeader(Key.SourceId, Key.CameraId, Width, Height, TimestampMs), Jpeg)));

    /// <summary><see cref="Jpeg"/> as one whole WebSocket binary message (<c>format=jpeg</c>), built on first use and cached.</summary>
    public ReadOnlyMemory<byte> FramedJpegMessage => Volatile.Read(ref _jpeg) ?? Encode(ref _jpeg,
        () => WebSocketFraming.Frame(text: false, Jpeg));

    private byte[] Encode(ref byte[]? slot, Func<byte[]> build)
    {
        lock (_encodeLock)
        {
            var existing = slot;
            if (existing is not null) return existing;
            var built = build();
            Volatile.Write(ref slot, built);
            return built;
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"VideoFrame({Key}, #{Sequence}, {Width}x{Height}, {Jpeg.Length} bytes, ts={TimestampMs})";
}
