using System.Globalization;
using System.Text.RegularExpressions;

namespace Router.Tests.EndToEnd;

/// <summary>Reads samples from the Prometheus text format that <c>/metrics</c> serves (enough for the tests: no escapes in label values).</summary>
public static partial class PrometheusText
{
    /// <summary>One sample: metric name, labels, value.</summary>
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})?\s+(?<value>\S+)""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""(?<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>[^"]*)""")]
    private static partial Regex Label();

    /// <summary>Every sample of <paramref name="text"/>.</summary>
    public static IReadOnlyList<Sample> Parse(string text) =>
        text.Split('\n').Where(l => l.Length > 0 && l[0] != '#')
            .Select(l => SampleLine().Match(l)).Where(m => m.Success)
            .Select(m => new Sample(m.Groups["name"].Value,
                Label().Matches(m.Groups["labels"].Value).ToDictionary(l => l.Groups["key"].Value, l => l.Groups["value"].Value),
                double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)))
            .ToList();

    /// <summary>The sum of <paramref name="name"/>'s samples whose labels include every pair of <paramref name="labels"/>.</summary>
    public static double Sum(string text, string name, params (string Key, string Value)[] labels) =>
        Parse(text).Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).Sum(s => s.Value);
}
