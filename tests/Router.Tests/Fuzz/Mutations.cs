using CsCheck;

namespace Router.Tests.Fuzz;

/// <summary>
/// Input generators for the fuzz properties: random bytes, and real inputs mutated a few times (bit flips, interesting
/// bytes, 16-bit lengths and 32-bit values, truncation, insertion, deletion, duplication). Mutations are driven by a seed the
/// generator picks, so a failing case is reproducible from CsCheck's printed seed.
/// </summary>
internal static class Mutations
{
    /// <summary>Iterations per fuzz property: enough to hit the edge cases, small enough for CI (whole fuzz suite well under 30 s).</summary>
    public const int Iterations = 3000;

    private static readonly byte[] InterestingBytes = [0x00, 0x01, 0x02, 0x7F, 0x80, 0xC0, 0xC2, 0xC4, 0xD8, 0xD9, 0xDA, 0xDB, 0xFE, 0xFF];
    private static readonly ushort[] InterestingLengths = [0, 1, 2, 3, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF];
    private static readonly uint[] InterestingInt32s = [0, 1, 0x7FFFFFF0, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x00010000, 65536 * 3];

    /// <summary>Random bytes, 0 to <paramref name="maxLength"/> long.</summary>
    public static Gen<byte[]> RandomBytes(int maxLength) => Gen.Byte.Array[0, maxLength];

    /// <summary>One of <paramref name="seeds"/> with 1–8 random mutations.</summary>
    public static Gen<byte[]> Of(IReadOnlyList<byte[]> seeds) =>
        from index in Gen.Int[0, seeds.Count - 1]
        from seed in Gen.Int
        select Mutate(seeds[index], new Random(seed));

    /// <summary>Random bytes and mutated seeds, half and half.</summary>
    public static Gen<byte[]> RandomOrMutated(IReadOnlyList<byte[]> seeds, int maxRandomLength) =>
        Gen.Frequency((1, RandomBytes(maxRandomLength)), (1, Of(seeds)));

    public static byte[] Mutate(byte[] input, Random rng)
    {
        var data = new List<byte>(input);
        var count = rng.Next(1, 9);
        for (var i = 0; i < count; i++)
        {
            var pos = data.Count == 0 ? 0 : rng.Next(data.Count);
            switch (rng.Next(9))
            {
                case 7 when data.Count > 3:
                    var big = InterestingInt32s[rng.Next(InterestingInt32s.Length)];
                    pos = Math.Min(pos, data.Count - 4);
                    for (var b = 0; b < 4; b++) data[pos + b] = (byte)(big >> (24 - 8 * b));
                    break;
                case 0 when data.Count > 0:
                    data[pos] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1 when data.Count > 0:
                    data[pos] = InterestingBytes[rng.Next(InterestingBytes.Length)];
                    break;
                case 2 when data.Count > 1:
                    var length = InterestingLengths[rng.Next(InterestingLengths.Length)];
                    pos = Math.Min(pos, data.Count - 2);
                    data[pos] = (byte)(length >> 8);
                    data[pos + 1] = (byte)length;
                    break;
                case 3:
                    data.RemoveRange(pos, data.Count - pos); // truncate
                    break;
                case 4:
                    var insert = new byte[rng.Next(1, 17)];
                    rng.NextBytes(insert);
                    data.InsertRange(pos, insert);
                    break;
                case 5 when data.Count > 0:
                    data.RemoveRange(pos, Math.Min(data.Count - pos, rng.Next(1, 65)));
                    break;
                case 6 when data.Count > 0:
                    var span = data.GetRange(pos, Math.Min(data.Count - pos, rng.Next(1, 65)));
                    data.InsertRange(rng.Next(data.Count + 1), span);
                    break;
                default:
                    if (data.Count > 0) data[pos] = (byte)rng.Next(256);
                    break;
            }
        }
        return data.ToArray();
    }
}
