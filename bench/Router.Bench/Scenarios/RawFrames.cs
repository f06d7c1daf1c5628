using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using OpenCvSharp;
using Router.Bench.Load;
using Router.Protocol;

namespace Router.Bench.Scenarios;

/// <summary>Real video frames at a chosen size as raw pixels (I420, RGBA) and as JPEG, for the raw scenario.</summary>
internal sealed class RawPictures
{
    private RawPictures(RawFrameLayout layout, IReadOnlyList<byte[]> pixels, IReadOnlyList<byte[]> jpegs)
    {
        Layout = layout;
        Pixels = pixels;
        Jpegs = jpegs;
    }

    public RawFrameLayout Layout { get; }

    /// <summary>Raw pixels of each frame (exactly <see cref="RawFrameLayout.ByteCount"/> bytes).</summary>
    public IReadOnlyList<byte[]> Pixels { get; }

    /// <summary>The same frames as JPEG of quality 85 (the JPEG-push baseline).</summary>
    public IReadOnlyList<byte[]> Jpegs { get; }

    /// <summary>Reads <paramref name="count"/> frames of <paramref name="video"/>, resized to width × height, in <paramref name="format"/> (I420 or RGBA).</summary>
    public static RawPictures Load(string video, int count, int width, int height, RawPixelFormat format)
    {
        if (!RawFrameLayout.TryCreate(format, width, height, 0, out var layout, out var error)) throw new ArgumentException(error);
        using var capture = new VideoCapture(video);
        if (!capture.IsOpened()) throw new IOException($"cannot open {video}");
        var pixels = new List<byte[]>();
        var jpegs = new List<byte[]>();
        using var frame = new Mat();
        using var sized = new Mat();
        using var converted = new Mat();
        while (pixels.Count < count && capture.Read(frame) && !frame.Empty())
        {
            Cv2.Resize(frame, sized, new Size(width, height), interpolation: InterpolationFlags.Area);
            Cv2.CvtColor(sized, converted, format == RawPixelFormat.I420 ? ColorConversionCodes.BGR2YUV_I420 : ColorConversionCodes.BGR2RGBA);
            var bytes = new byte[layout.ByteCount];
            Marshal.Copy(converted.Data, bytes, 0, bytes.Length); // CvtColor's output is continuous
            pixels.Add(bytes);
            jpegs.Add(sized.ImEncode(".jpg", new ImageEncodingParam(ImwriteFlags.JpegQuality, 85)));
        }
        if (pixels.Count == 0) throw new IOException($"no frames in {video}");
        return new RawPictures(layout, pixels, jpegs);
    }
}

/// <summary>
/// One device on <c>/ws/device</c> sending raw frames (type 0x02) of one camera at a fixed rate, paced against the
/// clock (late slots are skipped, as a camera drops them). Server messages (warnings, errors) are read and counted.
/// </summary>
internal sealed class RawDevice(string sourceId, string cameraId, RawPictures pictures, double fps) : IAsyncDisposable
{
    private ClientWebSocket? _ws;
    private HttpMessageInvoker? _invoker;
    private Task? _receiving;
    private long _sent, _skipped, _errors;

    public long Sent => Interlocked.Read(ref _sent);

    public long Skipped => Interlocked.Read(ref _skipped);

    public long Errors => Interlocked.Read(ref _errors);

    public string? LastError { get; private set; }

    public async Task ConnectAsync(Uri wsBase, string apiKey, CancellationToken ct)
    {
        (_ws, _invoker) = await Connector.ConnectDeviceAsync(wsBase, apiKey, sourceId, ct);
        _receiving = Task.Run(() => ReceiveLoopAsync(_ws));
    }

    public async Task RunAsync(CancellationToken stop)
    {
        var ws = _ws ?? throw new InvalidOperationException("not connected");
        var messages = pictures.Pixels.Select(p => RawFrameCodec.Encode(sourceId, cameraId, pictures.Layout, 0, p)).ToList();
        var tsOffset = RawFrameCodec.HeaderLength(sourceId, cameraId) - 8;
        var period = Stopwatch.Frequency / fps;
        var start = Stopwatch.GetTimestamp();
        long slot = 0, lastTs = 0;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var due = start + (long)(slot * period);
                var wait = due - Stopwatch.GetTimestamp();
                if (wait > 0) await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), stop);
                var behind = (long)((Stopwatch.GetTimestamp() - due) / period);
                if (behind >= 1)
                {
                    Interlocked.Add(ref _skipped, behind);
                    slot += behind;
                }
                var message = messages[(int)(slot % messages.Count)];
                lastTs = Math.Max(lastTs + 1, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                BinaryPrimitives.WriteInt64BigEndian(message.AsSpan(tsOffset), lastTs);
                await ws.SendAsync(message, WebSocketMessageType.Binary, true, stop);
                Interlocked.Increment(ref _sent);
                slot++;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
    }

    private async Task ReceiveLoopAsync(ClientWebSocket ws)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (ws.State == WebSocketState.Open)
            {
                var r = await ws.ReceiveAsync(buffer, CancellationToken.None);
                if (r.MessageType == WebSocketMessageType.Close) return;
                var text = System.Text.Encoding.UTF8.GetString(buffer, 0, r.Count);
                if (!text.Contains("\"error\"", StringComparison.Ordinal)) continue; // frames_dropped warnings
                Interlocked.Increment(ref _errors);
                LastError = text;
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException) { }
    }

    public async ValueTask DisposeAsync()
    {
        Connector.AbortQuietly(_ws);
        if (_receiving is not null) await Task.WhenAny(_receiving, Task.Delay(2000));
        _ws?.Dispose();
        _invoker?.Dispose();
    }
}
