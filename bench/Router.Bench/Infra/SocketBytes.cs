using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Router.Bench.Infra;

/// <summary>
/// TCP bytes sent and received by one process's sockets, from <c>ss -tinp</c> (tcp_info bytes_acked /
/// bytes_received; /proc/pid/io does not count send/recv). Only sockets open at the time of reading count, which is
/// right for long-lived connections such as Akka.Remote associations.
/// </summary>
internal static partial class SocketBytes
{
    [GeneratedRegex(@"pid=(\d+),")]
    private static partial Regex PidPattern();

    [GeneratedRegex(@"bytes_acked:(\d+)")]
    private static partial Regex AckedPattern();

    [GeneratedRegex(@"bytes_received:(\d+)")]
    private static partial Regex ReceivedPattern();

    /// <summary>(sent, received) bytes over the TCP sockets of <paramref name="pid"/>, excluding those on <paramref name="excludePort"/>; null if ss is missing.</summary>
    public static (long Sent, long Received)? Read(int pid, int excludePort = -1)
    {
        string text;
        try
        {
            var psi = new ProcessStartInfo("ss", "-tinp") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            text = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
        var lines = text.Split('\n');
        long sent = 0, received = 0;
        for (var i = 0; i + 1 < lines.Length; i++)
        {
            var m = PidPattern().Match(lines[i]);
            if (!m.Success || int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) != pid) continue;
            if (excludePort > 0 && lines[i].Contains($":{excludePort} ", StringComparison.Ordinal)) continue;
            var info = lines[i + 1];
            var a = AckedPattern().Match(info);
            var r = ReceivedPattern().Match(info);
            if (a.Success) sent += long.Parse(a.Groups[1].Value, CultureInfo.InvariantCulture);
            if (r.Success) received += long.Parse(r.Groups[1].Value, CultureInfo.InvariantCulture);
        }
        return (sent, received);
    }
}
