using System.Globalization;

namespace Router.Bench.Infra;

/// <summary>
/// The least of the Prometheus text format the benchmark needs: the sum of one metric's samples, whatever their labels.
/// A sample line is <c>name{labels} value</c> or <c>name value</c>; lines starting with <c>#</c> are comments.
/// </summary>
internal static class PrometheusSamples
{
    /// <summary>The sum of the values of every sample of <paramref name="metric"/> in <paramref name="text"/> (0 when none).</summary>
    /// <exception cref="FormatException">A sample of the metric has a value that is not a number.</exception>
    public static double Sum(string text, string metric)
    {
        double sum = 0;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length <= metric.Length || line[0] == '#' || !line.StartsWith(metric, StringComparison.Ordinal)) continue;
            var next = line[metric.Length];
            if (next is not ('{' or ' ')) continue; // another metric whose name starts with this one
            var valueStart = next == '{' ? line.IndexOf("} ", metric.Length, StringComparison.Ordinal) + 2 : metric.Length + 1;
            if (valueStart < 2) throw new FormatException($"unterminated labels: {line}");
            var value = line[valueStart..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]; // a timestamp may follow
            sum += double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        return sum;
    }
}
