namespace Router.Cli;

/// <summary>Nearest-rank percentiles over a list of samples.</summary>
internal static class Percentiles
{
    /// <summary>Returns the <paramref name="percentile"/> (0–100) of <paramref name="sorted"/>, which must be sorted ascending and non-empty.</summary>
    public static long Of(IReadOnlyList<long> sorted, double percentile)
    {
        if (sorted.Count == 0) throw new ArgumentException("no samples", nameof(sorted));
        var rank = (int)Math.Ceiling(percentile / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}
