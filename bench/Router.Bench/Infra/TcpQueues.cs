using System.Globalization;
using System.Net;

namespace Router.Bench.Infra;

/// <summary>
/// Bytes queued in the kernel per TCP socket, from /proc/net/tcp: tx_queue (written by the app, not yet taken by the
/// peer) and rx_queue (arrived, not yet read by the app). Used to tell frames held in kernel socket buffers from
/// frames held by the server process.
/// </summary>
internal static class TcpQueues
{
    /// <summary>Map of (local port, remote port) → (tx_queue, rx_queue) for IPv4 loopback sockets.</summary>
    public static Dictionary<(int Local, int Remote), (long Tx, long Rx)> Read()
    {
        var map = new Dictionary<(int, int), (long, long)>();
        try
        {
            foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 5 || f[3] != "01") continue; // ESTABLISHED only
                var local = int.Parse(f[1][(f[1].IndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                var remote = int.Parse(f[2][(f[2].IndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                var q = f[4].Split(':');
                var tx = long.Parse(q[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                var rx = long.Parse(q[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                map[(local, remote)] = (tx, rx);
            }
        }
        catch (Exception e) when (e is IOException or FormatException) { }
        return map;
    }

    /// <summary>Bytes in both kernels' queues between the server port and one client socket.</summary>
    public static long Between(Dictionary<(int Local, int Remote), (long Tx, long Rx)> map, int serverPort, IPEndPoint? client)
    {
        if (client is null) return 0;
        long total = 0;
        if (map.TryGetValue((serverPort, client.Port), out var server)) total += server.Tx;
        if (map.TryGetValue((client.Port, serverPort), out var c)) total += c.Rx;
        return total;
    }
}
