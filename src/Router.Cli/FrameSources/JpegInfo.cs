using System.Buffers.Binary;

namespace Router.Cli.FrameSources;

/// <summary>A minimal JPEG marker walker that finds the picture size in the SOF header without decoding.</summary>
internal static class JpegInfo
{
    /// <summary>Reads width and height from the first SOFn segment of a JPEG.</summary>
    /// <returns>False when the data is not a JPEG or no SOF comes before the scan data.</returns>
    public static bool TryReadSize(ReadOnlySpan<byte> jpeg, out int width, out int height)
    {
        width = height = 0;
        if (jpeg.Length < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) return false;
        var pos = 2;
        while (pos < jpeg.Length)
        {
            if (jpeg[pos] != 0xFF) return false;
            while (pos < jpeg.Length && jpeg[pos] == 0xFF) pos++; // fill bytes
            if (pos >= jpeg.Length) return false;
            var marker = jpeg[pos++];
            if (marker is 0x01 or (>= 0xD0 and <= 0xD7)) continue; // TEM, RSTn: no length
            if (marker is 0xD9 or 0xDA) return false; // EOI or SOS before any SOF
            if (pos + 2 > jpeg.Length) return false;
            int length = BinaryPrimitives.ReadUInt16BigEndian(jpeg[pos..]);
            if (length < 2 || pos + length > jpeg.Length) return false;
            // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
            {
                if (length < 7) return false;
                height = BinaryPrimitives.ReadUInt16BigEndian(jpeg[(pos + 3)..]);
                width = BinaryPrimitives.ReadUInt16BigEndian(jpeg[(pos + 5)..]);
                return width > 0 && height > 0;
            }
            pos += length;
        }
        return false;
    }
}
