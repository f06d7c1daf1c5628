namespace Router.Protocol;

/// <summary>The image size read from a JPEG's SOF header.</summary>
/// <param name="Width">Width in pixels (1–65535).</param>
/// <param name="Height">Height in pixels (1–65535).</param>
public readonly record struct JpegInfo(int Width, int Height);

/// <summary>
/// Validates the structure of a JPEG and reads its size from the SOF header without decoding the image.
/// </summary>
/// <remarks>
/// The check walks the marker segments from SOI (<c>FF D8</c>) to the first SOS (<c>FF DA</c>), skipping fill bytes
/// (extra <c>FF</c>) and the standalone markers TEM and RST0–RST7, reads the size from the first SOFn segment and
/// requires EOI (<c>FF D9</c>) as the last marker of the data, optionally followed by <c>00</c> padding. The
/// entropy-coded data after SOS is not inspected. The method is thread-safe, allocates nothing on success and never
/// throws.
/// </remarks>
public static class JpegHeader
{
    private const byte MarkerPrefix = 0xFF;
    private const byte Soi = 0xD8;
    private const byte Eoi = 0xD9;
    private const byte Sos = 0xDA;
    private const byte Tem = 0x01;

    /// <summary>Checks that <paramref name="jpeg"/> is a structurally complete JPEG and reads its width and height.</summary>
    /// <param name="jpeg">The whole JPEG file (JFIF/EXIF), from SOI to EOI.</param>
    /// <param name="info">The image size in pixels when the result is true; <c>default</c> otherwise.</param>
    /// <param name="error">Null when the result is true; otherwise a short sentence saying what is wrong, for logs and replies.</param>
    /// <returns>True when the data starts with SOI, has a SOFn header with non-zero width and height before SOS, and ends with EOI.</returns>
    public static bool TryParse(ReadOnlySpan<byte> jpeg, out JpegInfo info, out string? error)
    {
        error = Check(jpeg, out info, out _);
        if (error is null) return true;
        info = default;
        return false;
    }

    /// <summary>
    /// The offset of the first SOFn segment's marker (its <c>FF</c> byte), found by the same walk as
    /// <see cref="TryParse"/>: the frame height is at offset + 5 and the width at offset + 7 (u16 big-endian each).
    /// </summary>
    /// <param name="jpeg">A JPEG file, from SOI on; the data after the SOF header is not checked.</param>
    /// <returns>The offset in bytes, or null when the data is not a JPEG or is malformed before its first SOF header.</returns>
    public static int? FindStartOfFrame(ReadOnlySpan<byte> jpeg)
    {
        Check(jpeg, out _, out var sofOffset);
        return sofOffset >= 0 ? sofOffset : null;
    }

    private static string? Check(ReadOnlySpan<byte> data, out JpegInfo info, out int sofOffset)
    {
        info = default;
        sofOffset = -1;
        if (data.Length < 2 || data[0] != MarkerPrefix || data[1] != Soi) return "not a JPEG: missing SOI marker";

        var haveSof = false;
        var pos = 2;
        while (true)
        {
            if (pos >= data.Length) return haveSof ? "JPEG is truncated: no image data (SOS) after the headers" : "JPEG has no SOF header";
            if (data[pos] != MarkerPrefix) return $"JPEG is malformed: expected a marker at offset {pos}";
            while (pos < data.Length && data[pos] == MarkerPrefix) pos++; // the prefix and any fill bytes
            if (pos >= data.Length) return "JPEG is truncated inside a marker";

            var marker = data[pos];
            var markerOffset = pos - 1;
            pos++;
            if (marker == Tem || IsRestart(marker)) continue; // standalone markers carry no length
            switch (marker)
            {
                case 0x00:
                    return $"JPEG is malformed: invalid marker FF00 at offset {markerOffset}";
                case Soi:
                    return $"JPEG is malformed: unexpected SOI marker at offset {markerOffset}";
                case Eoi:
                    return haveSof ? "JPEG has no image data: EOI before SOS" : "JPEG has no SOF header";
            }

            if (data.Length - pos < 2) return $"JPEG is truncated in the length of segment FF{marker:X2} at offset {markerOffset}";
            var length = (data[pos] << 8) | data[pos + 1];
            if (length < 2) return $"JPEG segment FF{marker:X2} at offset {markerOffset} has an invalid length of {length}";
            if (length > data.Length - pos) return $"JPEG segment FF{marker:X2} at offset {markerOffset} overruns the data ({length} bytes declared)";
            var segment = data.Slice(pos + 2, length - 2);
            pos += length;

            if (IsStartOfFrame(marker) && !haveSof)
            {
                // SOFn: precision (1), height (2), width (2), component count (1), components...
                if (segment.Length < 6) return $"JPEG SOF header at offset {markerOffset} is too short";
                var height = (segment[1] << 8) | segment[2];
                var width = (segment[3] << 8) | segment[4];
                if (width == 0 || height == 0) return "JPEG width/height is zero";
                info = new JpegInfo(width, height);
                sofOffset = markerOffset;
                haveSof = true;
            }
            else if (marker == Sos)
            {
                return haveSof ? CheckEnd(data, pos) : "JPEG has no SOF header";
            }
        }
    }

    /// <summary>After the SOS header at <paramref name="scanStart"/>: the data must end with EOI, then only <c>00</c> padding.</summary>
    private static string? CheckEnd(ReadOnlySpan<byte> data, int scanStart)
    {
        var end = data.Length;
        while (end > scanStart && data[end - 1] == 0x00) end--;
        return end - scanStart >= 2 && data[end - 2] == MarkerPrefix && data[end - 1] == Eoi
            ? null
            : "JPEG is truncated: missing EOI marker";
    }

    private static bool IsRestart(byte marker) => marker is >= 0xD0 and <= 0xD7;

    /// <summary>SOF0–SOF3, SOF5–SOF7, SOF9–SOF11 and SOF13–SOF15; C4 (DHT), C8 (JPG) and CC (DAC) are not frame headers.</summary>
    private static bool IsStartOfFrame(byte marker) =>
        marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC;
}
