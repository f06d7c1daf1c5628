using System.Runtime.InteropServices;
using Router.Tests.Support;

namespace Router.Bench.Infra;

internal static class Ports
{
    /// <summary>
    /// A TCP port free on 127.0.0.1 for a server the bench starts, below the kernel's ephemeral range so none of the
    /// bench's own hundreds of outgoing connections can take it before the server binds it (<see cref="TestPorts"/>).
    /// </summary>
    public static int Free() => TestPorts.Next();
}

/// <summary>The open-files limit (RLIMIT_NOFILE) of this process; children inherit it.</summary>
internal static class FileLimit
{
    private const int RlimitNofile = 7;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Max;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int getrlimit(int resource, out RLimit limit);

    [DllImport("libc", SetLastError = true)]
    private static extern int setrlimit(int resource, ref RLimit limit);

    /// <summary>Raises the soft limit to at least <paramref name="wanted"/> (up to the hard limit); returns the soft limit now.</summary>
    public static long Raise(long wanted)
    {
        try
        {
            if (getrlimit(RlimitNofile, out var l) != 0) return -1;
            if (l.Current >= (ulong)wanted) return (long)l.Current;
            var target = new RLimit { Current = Math.Min((ulong)wanted, l.Max), Max = l.Max };
            if ((ulong)wanted > l.Max)
            {
                // Root may raise the hard limit too.
                var both = new RLimit { Current = (ulong)wanted, Max = (ulong)wanted };
                if (setrlimit(RlimitNofile, ref both) == 0) return wanted;
            }
            setrlimit(RlimitNofile, ref target);
            getrlimit(RlimitNofile, out l);
            return (long)l.Current;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return -1;
        }
    }
}
