using ScottPlot;

namespace Router.Bench.Report;

/// <summary>PNG charts of S1 (ScottPlot): delivered fps and p99 latency against the consumer count, Router and the floor.</summary>
internal static class Charts
{
    public static IReadOnlyList<string> WriteFanout(IReadOnlyList<FanoutRow> rows, string directory)
    {
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        var series = rows.Where(r => r.Scenario == "S1").GroupBy(r => (r.Server, r.Format)).OrderBy(g => g.Key.Server).ThenBy(g => g.Key.Format).ToList();
        if (series.Count == 0) return written;
        var counts = rows.Where(r => r.Scenario == "S1").Select(r => r.Consumers).Distinct().Order().ToArray();

        written.Add(Chart(series, counts, r => r.FpsMedian, "S1 fan-out: delivered fps per consumer (median) vs consumers",
            "fps per consumer (median)", Path.Combine(directory, "s1-fps.png"), rows.Max(r => r.TargetFps)));
        written.Add(Chart(series, counts, r => r.LatencyP99Ms, "S1 fan-out: p99 latency device→consumer vs consumers",
            "p99 latency (ms)", Path.Combine(directory, "s1-p99.png"), null));
        written.Add(Chart(series, counts, r => r.CpuSecondsPerGB, "S1 fan-out: server CPU-seconds per delivered GB",
            "CPU-s per GB delivered", Path.Combine(directory, "s1-cpu-per-gb.png"), null));
        return written;
    }

    /// <summary>The peer scenario: CPU-s per delivered GB against consumers for go2rtc, the floor and Router (mean of the runs).</summary>
    public static IReadOnlyList<string> WritePeer(IReadOnlyList<FanoutRow> rows, string directory)
    {
        Directory.CreateDirectory(directory);
        var series = rows.GroupBy(r => (r.Server, r.Format)).OrderBy(g => g.Key.Server).ThenBy(g => g.Key.Format).ToList();
        var counts = rows.Select(r => r.Consumers).Distinct().Order().ToArray();
        return
        [
            Chart(series, counts, r => r.CpuSecondsPerGB, "1 camera, 30 fps: server CPU-seconds per delivered GB (go2rtc, floor, Router)",
                "CPU-s per GB delivered", Path.Combine(directory, "peer-cpu-per-gb.png"), null),
            Chart(series, counts, r => r.FpsMin, "1 camera, 30 fps: slowest consumer's fps (go2rtc, floor, Router)",
                "fps of the slowest consumer", Path.Combine(directory, "peer-fps-min.png"), 30),
        ];
    }

    private static string Chart(List<IGrouping<(string Server, string Format), FanoutRow>> series, int[] counts, Func<FanoutRow, double> y,
        string title, string yLabel, string path, double? reference)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var i = 0;
        foreach (var s in series)
        {
            var points = s.GroupBy(r => r.Consumers).OrderBy(g => g.Key)
                .Select(g => (Consumers: g.Key, Y: g.Select(y).Where(v => !double.IsNaN(v)).DefaultIfEmpty(double.NaN).Average()))
                .Where(p => !double.IsNaN(p.Y)).ToList();
            if (points.Count == 0) continue;
            var sc = plot.Add.Scatter(points.Select(p => Math.Log10(p.Consumers)).ToArray(), points.Select(p => p.Y).ToArray());
            sc.LegendText = $"{(s.Key.Server == "router" ? "Router" : s.Key.Server)} {s.Key.Format}";
            sc.Color = palette.GetColor(i++);
            sc.LineWidth = 2;
            sc.MarkerSize = 8;
            if (s.Key.Server != "router") sc.LinePattern = LinePattern.Dashed;
        }
        if (reference is { } r0)
        {
            var line = plot.Add.HorizontalLine(r0);
            line.LegendText = "camera fps";
            line.Color = Colors.Gray;
            line.LinePattern = LinePattern.Dotted;
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            counts.Select(c => Math.Log10(c)).ToArray(), counts.Select(c => c.ToString()).ToArray());
        plot.Axes.Bottom.Label.Text = "consumers (log scale)";
        plot.Axes.Left.Label.Text = yLabel;
        plot.Title(title);
        plot.ShowLegend(Alignment.UpperRight);
        plot.Axes.Margins(0.08, 0.12);
        plot.Axes.AutoScale();
        var limits = plot.Axes.GetLimits();
        plot.Axes.SetLimitsY(0, Math.Max(limits.Top, (reference ?? 0) * 1.1) * 1.05);
        plot.SavePng(path, 900, 520);
        return path;
    }
}
