using System.Net;
using System.Net.Sockets;

namespace Router.Tests.Support;

/// <summary>
/// TCP ports on 127.0.0.1 for servers a test starts in another process (or binds to a port named in advance, as cluster
/// seed lists need). A port is picked below the kernel's ephemeral range
/// (<c>/proc/sys/net/ipv4/ip_local_port_range</c>, 32768–60999 by default), so an outgoing connection of any process
/// cannot take it between the pick and the server's bind; a port from the ephemeral range (bind to 0 and release) can be
/// taken that way, which failed a CI run with "address already in use". Ports are handed out once per test process,
/// from a random start (so two test runs on one machine rarely meet), and each is checked free by binding it.
/// </summary>
internal static class TestPorts
{
    private const int Low = 20_000;
    private static readonly int High = EphemeralLow() - 1;
    private static int _next = Low + Random.Shared.Next(Math.Max(1, High - Low));

    /// <summary>A TCP port on 127.0.0.1, outside the ephemeral range, free when returned and not returned before by this process.</summary>
    /// <exception cref="InvalidOperationException">No free port in the range (every port taken).</exception>
    public static int Next()
    {
        if (High <= Low) return EphemeralPort(); // the kernel's range leaves nothing below it: the old way
        for (var tries = 0; tries < High - Low; tries++)
        {
            var port = Low + (int)((uint)(Interlocked.Increment(ref _next) - Low) % (uint)(High - Low + 1));
            if (IsFree(port)) return port;
        }
        throw new InvalidOperationException($"no free TCP port in {Low}-{High}");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int EphemeralPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static int EphemeralLow()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32_768; // Linux's default; elsewhere (no /proc) the IANA dynamic range starts higher still
        }
    }
}
