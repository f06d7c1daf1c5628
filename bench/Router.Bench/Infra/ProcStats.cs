using System.Globalization;

namespace Router.Bench.Infra;

/// <summary>One reading of a process's counters from /proc/&lt;pid&gt;/{stat,status,io}.</summary>
internal readonly record struct ProcSample(
    long Ticks, double CpuSeconds, double UserSeconds, double SysSeconds, long RssBytes, long PeakRssBytes, long ReadBytes, long WriteBytes, int Threads)
{
    public static readonly double ClockTicksPerSecond = 100; // sysconf(_SC_CLK_TCK) is 100 on Linux/x64

    /// <summary>Reads the counters of <paramref name="pid"/>; zeros where a file cannot be read.</summary>
    public static ProcSample Read(int pid)
    {
        double cpu = 0, user = 0, sys = 0;
        int threads = 0;
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command name (which may contain spaces) in parentheses.
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // rest[0] is field 3 (state); utime is field 14, stime 15, num_threads 20.
            user = long.Parse(rest[11], CultureInfo.InvariantCulture) / ClockTicksPerSecond;
            sys = long.Parse(rest[12], CultureInfo.InvariantCulture) / ClockTicksPerSecond;
            cpu = user + sys;
            threads = int.Parse(rest[17], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException) { }
        long rss = 0, hwm = 0;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = ParseKb(line);
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = ParseKb(line);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        long rchar = 0, wchar = 0;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/io"))
            {
                if (line.StartsWith("rchar:", StringComparison.Ordinal)) rchar = long.Parse(line[6..].Trim(), CultureInfo.InvariantCulture);
                else if (line.StartsWith("wchar:", StringComparison.Ordinal)) wchar = long.Parse(line[6..].Trim(), CultureInfo.InvariantCulture);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return new ProcSample(System.Diagnostics.Stopwatch.GetTimestamp(), cpu, user, sys, rss, hwm, rchar, wchar, threads);
    }

    /// <summary>
    /// Context switches (voluntary + involuntary) of each thread of <paramref name="pid"/> alive now (thread id to count),
    /// from /proc/pid/task/*/status. See <see cref="WakeupsPerSecond"/>.
    /// </summary>
    public static Dictionary<string, long> ReadThreadSwitches(int pid)
    {
        var switches = new Dictionary<string, long>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    long n = 0;
                    foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                        if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                            n += long.Parse(line[(line.IndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture);
                    switches[Path.GetFileName(task)] = n;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // the thread exited
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return switches;
    }

    /// <summary>
    /// The process's thread wake-ups per second between two <see cref="ReadThreadSwitches"/> readings: each thread's
    /// switches since the first reading (all of them for a thread started since), a measure that, unlike CPU time,
    /// barely moves with the load of the rest of the machine. Threads that exited in between are not counted.
    /// </summary>
    public static double WakeupsPerSecond(Dictionary<string, long> start, Dictionary<string, long> end, double seconds) =>
        end.Sum(t => t.Value - start.GetValueOrDefault(t.Key)) / seconds;

    /// <summary>
    /// The process ids of every descendant of <paramref name="pid"/> alive now (children of each of its threads, from
    /// /proc/pid/task/*/children, and theirs in turn), at most <paramref name="max"/>. Empty when /proc cannot be read.
    /// </summary>
    public static List<int> Descendants(int pid, int max = 64)
    {
        var found = new List<int>();
        var queue = new Queue<int>([pid]);
        while (queue.Count > 0 && found.Count < max)
        {
            var parent = queue.Dequeue();
            try
            {
                foreach (var task in Directory.EnumerateDirectories($"/proc/{parent}/task"))
                {
                    string children;
                    try { children = File.ReadAllText(Path.Combine(task, "children")); }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; } // the thread exited
                    foreach (var part in children.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                        if (int.TryParse(part, CultureInfo.InvariantCulture, out var child) && !found.Contains(child) && found.Count < max)
                        {
                            found.Add(child);
                            queue.Enqueue(child);
                        }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // the process exited
        }
        return found;
    }

    /// <summary>Resets VmHWM to the current RSS (writes 5 to /proc/pid/clear_refs); false when not permitted.</summary>
    public static bool ResetPeak(int pid)
    {
        try
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long ParseKb(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var kb) ? kb * 1024 : 0;
    }
}

/// <summary>Whole-machine CPU time from /proc/stat (all cores).</summary>
internal readonly record struct MachineSample(double BusySeconds, double TotalSeconds, double SoftIrqSeconds)
{
    public static MachineSample Read()
    {
        try
        {
            var first = File.ReadLines("/proc/stat").First();
            var f = first.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            // user nice system idle iowait irq softirq steal
            double total = f.Take(8).Sum() / ProcSample.ClockTicksPerSecond;
            double idle = (f[3] + f[4]) / ProcSample.ClockTicksPerSecond;
            return new MachineSample(total - idle, total, f[6] / ProcSample.ClockTicksPerSecond);
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            return default;
        }
    }
}

/// <summary>Facts about the machine for the report.</summary>
internal static class MachineInfo
{
    public static int Cores => Environment.ProcessorCount;

    public static string CpuModel
    {
        get
        {
            try
            {
                var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
                return line is null ? "unknown" : line[(line.IndexOf(':') + 1)..].Trim();
            }
            catch (IOException) { return "unknown"; }
        }
    }

    public static long MemTotalBytes
    {
        get
        {
            try
            {
                var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
            catch (Exception e) when (e is IOException or InvalidOperationException) { return 0; }
        }
    }

    /// <summary>The CPUs a process may run on (Cpus_allowed_list of /proc/pid/status).</summary>
    public static string AllowedCpus(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
            return line is null ? "?" : line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { return "?"; }
    }

    public static int CountCpus(string list)
    {
        var n = 0;
        foreach (var part in list.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var range = part.Split('-');
            if (range.Length == 2 && int.TryParse(range[0], out var a) && int.TryParse(range[1], out var b)) n += b - a + 1;
            else if (int.TryParse(part, out _)) n++;
        }
        return n;
    }

    public static string Kernel
    {
        get
        {
            try { return File.ReadAllText("/proc/sys/kernel/osrelease").Trim(); }
            catch (IOException) { return "?"; }
        }
    }
}
