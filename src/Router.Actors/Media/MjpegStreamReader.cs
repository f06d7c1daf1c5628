namespace Router.Actors.Media;

/// <summary>
/// Splits a byte stream of concatenated JPEG images (what <c>ffmpeg … -f mjpeg pipe:1</c> writes) into single JPEGs.
/// </summary>
/// <remarks>
/// A frame starts at SOI (<c>FF D8</c>); the marker segments up to the first SOS (<c>FF DA</c>) are skipped by their
/// declared lengths (so an EXIF thumbnail's EOI is not taken for the frame's end), then the entropy-coded data is scanned
/// for EOI (<c>FF D9</c>), which cannot occur there unescaped. Bytes before an SOI are discarded. A frame, or garbage
/// before an SOI, longer than the bound throws <see cref="InvalidDataException"/>, so a hostile stream cannot grow the
/// buffer without limit: the buffer never exceeds the bound plus one read (64 KiB). Not thread-safe.
/// </remarks>
internal sealed class MjpegStreamReader
{
    private const int ReadSize = 64 * 1024;
    private readonly Stream _stream;
    private readonly int _maxFrameBytes;
    private byte[] _buffer = new byte[ReadSize * 2];
    private int _start; // first unconsumed byte
    private int _end;   // one past the last buffered byte

    /// <summary>Creates a reader of <paramref name="stream"/>.</summary>
    /// <param name="stream">The byte stream; read with blocking reads.</param>
    /// <param name="maxFrameBytes">The largest frame accepted, in bytes (at least 64).</param>
    public MjpegStreamReader(Stream stream, int maxFrameBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFrameBytes, 64);
        _stream = stream;
        _maxFrameBytes = maxFrameBytes;
    }

    /// <summary>Total bytes read from the stream.</summary>
    public long BytesRead { get; private set; }

    /// <summary>Whether the stream's first bytes are a JPEG SOI (<c>FF D8</c>); null when the stream ends before two bytes.</summary>
    /// <remarks>Call before the first <see cref="ReadFrame"/>; consumes nothing.</remarks>
    public bool? StartsWithSoi()
    {
        if (!Ensure(2)) return null;
        return _buffer[_start] == 0xFF && _buffer[_start + 1] == 0xD8;
    }

    /// <summary>
    /// Reads the next JPEG, from SOI to EOI inclusive; null when the stream ends first (a partial frame is dropped).
    /// </summary>
    /// <exception cref="InvalidDataException">A frame, or the garbage before one, exceeds the bound, or a header segment is malformed.</exception>
    public byte[]? ReadFrame()
    {
        // 1. Find SOI.
        long garbage = 0;
        while (true)
        {
            var soi = _buffer.AsSpan(_start, _end - _start).IndexOf((ReadOnlySpan<byte>)[0xFF, 0xD8]);
            if (soi >= 0)
            {
                _start += soi;
                break;
            }
            var discard = Math.Max(0, _end - _start - 1); // keep a trailing FF: it may start the SOI
            garbage += discard;
            if (garbage > _maxFrameBytes)
                throw new InvalidDataException($"no JPEG start (SOI) in more than {_maxFrameBytes} bytes of the stream");
            _start += discard;
            if (!Fill()) return null;
        }

        // 2. Skip the header segments, by their lengths, up to SOS.
        var pos = 2; // relative to _start
        while (true)
        {
            if (pos > _maxFrameBytes) throw TooLarge();
            if (!Ensure(pos + 2)) return null;
            if (_buffer[_start + pos] != 0xFF)
                throw new InvalidDataException($"malformed JPEG in the stream: expected a marker at offset {pos}");
            var marker = _buffer[_start + pos + 1];
            if (marker == 0xFF) { pos++; continue; } // fill byte
            if (marker is 0x01 or (>= 0xD0 and <= 0xD7)) { pos += 2; continue; } // standalone markers
            if (marker is 0x00 or 0xD8 or 0xD9)
                throw new InvalidDataException($"malformed JPEG in the stream: marker FF{marker:X2} at offset {pos} before the image data");
            if (!Ensure(pos + 4)) return null;
            var length = (_buffer[_start + pos + 2] << 8) | _buffer[_start + pos + 3];
            if (length < 2) throw new InvalidDataException($"malformed JPEG in the stream: segment FF{marker:X2} has length {length}");
            pos += 2 + length;
            if (pos > _maxFrameBytes) throw TooLarge();
            if (marker == 0xDA) break;
        }

        // 3. Scan the entropy-coded data for EOI.
        var scan = pos;
        while (true)
        {
            if (!Ensure(scan + 2)) return null;
            var eoi = _buffer.AsSpan(_start + scan, _end - _start - scan).IndexOf((ReadOnlySpan<byte>)[0xFF, 0xD9]);
            if (eoi >= 0)
            {
                var length = scan + eoi + 2;
                if (length > _maxFrameBytes) throw TooLarge();
                var frame = _buffer.AsSpan(_start, length).ToArray();
                _start += length;
                return frame;
            }
            scan = _end - _start - 1; // the last byte may be the FF of an EOI
            if (scan > _maxFrameBytes) throw TooLarge();
        }
    }

    private InvalidDataException TooLarge() => new($"a JPEG in the stream exceeds {_maxFrameBytes} bytes");

    /// <summary>Reads until at least <paramref name="count"/> bytes from <c>_start</c> are buffered; false at the end of the stream.</summary>
    private bool Ensure(int count)
    {
        while (_end - _start < count)
        {
            if (!Fill()) return false;
        }
        return true;
    }

    /// <summary>One read of up to 64 KiB, compacting or growing the buffer first; false at the end of the stream.</summary>
    private bool Fill()
    {
        if (_buffer.Length - _end < ReadSize)
        {
            var kept = _end - _start;
            if (kept + ReadSize > _buffer.Length)
            {
                // Only reached while a frame (at most _maxFrameBytes, checked by the caller) is incomplete.
                var grown = new byte[Math.Min(Math.Max(_buffer.Length * 2, kept + ReadSize), _maxFrameBytes + 2 * ReadSize)];
                Buffer.BlockCopy(_buffer, _start, grown, 0, kept);
                _buffer = grown;
            }
            else
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, kept);
            }
            _start = 0;
            _end = kept;
        }
        var read = _stream.Read(_buffer, _end, ReadSize);
        if (read <= 0) return false;
        _end += read;
        BytesRead += read;
        return true;
    }
}
