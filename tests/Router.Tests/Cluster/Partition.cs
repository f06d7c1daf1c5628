using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Router.Tests.Cluster;

/// <summary>
/// Cuts one process's remoting off from the rest of a local cluster without privileges: every member binds remoting to
/// a private port and advertises the port of a <see cref="Proxy"/> in front of it, so every member-to-member TCP
/// connection passes through exactly one proxy (Akka reuses an inbound association for outbound messages). While a
/// process is isolated, every proxied connection with that process at either end is black-holed in both directions:
/// bytes are read and dropped, the TCP connection stays up, as on a network that silently loses packets.
/// Which connections belong to the process is read from Linux's <c>/proc/net/tcp*</c> and <c>/proc/PID/fd</c>.
/// </summary>
public sealed class Partition : IDisposable
{
    private readonly List<Proxy> _proxies = [];
    private volatile HashSet<long>? _isolatedSockets;
    private int _isolatedPid = -1;
    private int _epoch;

    /// <summary>Starts a proxy on a free port of 127.0.0.1 forwarding to <paramref name="targetPort"/>.</summary>
    public Proxy Add(int targetPort)
    {
        var proxy = new Proxy(this, targetPort);
        lock (_proxies) _proxies.Add(proxy);
        return proxy;
    }

    /// <summary>Black-holes every proxied connection of process <paramref name="pid"/>, now and until <see cref="Heal"/>.</summary>
    public void Isolate(int pid)
    {
        _isolatedPid = pid;
        _isolatedSockets = SocketInodes(pid);
        Interlocked.Increment(ref _epoch);
    }

    /// <summary>Ends the isolation: connections cut meanwhile are closed (Akka opens new ones).</summary>
    public void Heal()
    {
        _isolatedPid = -1;
        _isolatedSockets = null;
        lock (_proxies) foreach (var p in _proxies) p.CloseCut();
    }

    /// <summary>Bytes dropped by the black hole so far.</summary>
    public long DroppedBytes => _proxies.Sum(p => Interlocked.Read(ref p.Dropped));

    private bool IsIsolated(Proxy.Connection c)
    {
        if (_isolatedSockets is null) return false;
        if (c.Cut) return true;
        var epoch = Volatile.Read(ref _epoch);
        if (c.CheckedEpoch == epoch) return false; // a socket does not change owner
        // Refresh: the isolated process may have opened sockets since Isolate.
        var sockets = SocketInodes(_isolatedPid);
        _isolatedSockets = sockets;
        var inodes = TcpInodes();
        var ends = new[] { c.InitiatorEnd, c.TargetEnd };
        c.Cut = ends.Any(e => inodes.TryGetValue(e, out var inode) && sockets.Contains(inode));
        c.CheckedEpoch = epoch;
        return c.Cut;
    }

    private static HashSet<long> SocketInodes(int pid)
    {
        var set = new HashSet<long>();
        try
        {
            foreach (var fd in System.IO.Directory.EnumerateFiles($"/proc/{pid}/fd"))
            {
                var target = new FileInfo(fd).LinkTarget;
                if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal))
                    set.Add(long.Parse(target.AsSpan(8, target.Length - 9), CultureInfo.InvariantCulture));
            }
        }
        catch (Exception e) when (e is DirectoryNotFoundException or IOException or UnauthorizedAccessException) { }
        return set;
    }

    /// <summary>(local port, remote port) → socket inode of every loopback TCP socket.</summary>
    private static Dictionary<(int Local, int Remote), long> TcpInodes()
    {
        var map = new Dictionary<(int, int), long>();
        foreach (var file in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(file)) continue;
            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var cols = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (cols.Length < 10) continue;
                var local = int.Parse(cols[1][(cols[1].LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                var remote = int.Parse(cols[2][(cols[2].LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                var inode = long.Parse(cols[9], CultureInfo.InvariantCulture);
                if (inode != 0) map[(local, remote)] = inode;
            }
        }
        return map;
    }

    public void Dispose()
    {
        lock (_proxies) foreach (var p in _proxies) p.Dispose();
    }

    /// <summary>A TCP forwarder 127.0.0.1:<see cref="Port"/> → 127.0.0.1:target that honours the partition.</summary>
    public sealed class Proxy : IDisposable
    {
        private readonly Partition _partition;
        private readonly int _targetPort;
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentDictionary<Connection, byte> _connections = new();
        internal long Dropped;

        internal Proxy(Partition partition, int targetPort)
        {
            _partition = partition;
            _targetPort = targetPort;
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _ = AcceptLoopAsync();
        }

        /// <summary>The port members connect to (the member's advertised remoting port).</summary>
        public int Port { get; }

        internal sealed class Connection
        {
            /// <summary>(local, remote) ports of the initiator's socket, as the initiator's side sees it.</summary>
            public required (int Local, int Remote) InitiatorEnd { get; init; }

            /// <summary>(local, remote) ports of the target's accepted socket.</summary>
            public required (int Local, int Remote) TargetEnd { get; init; }

            public volatile bool Cut;

            public volatile int CheckedEpoch;

            public required Socket Client { get; init; }
        }

        private async Task AcceptLoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket client;
                try { client = await _listener.AcceptSocketAsync(_stop.Token); }
                catch (Exception) { return; }
                _ = HandleAsync(client);
            }
        }

        private async Task HandleAsync(Socket client)
        {
            using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var clientScope = client;
            client.NoDelay = true;
            try
            {
                await upstream.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
            }
            catch (Exception)
            {
                // Target down: reset the accepted connection (RST, not FIN), the nearest to the refused connect a
                // member would see without the proxy, so its association attempt fails at once instead of timing out.
                try { client.LingerState = new LingerOption(true, 0); } catch (Exception) { }
                return;
            }
            var connection = new Connection
            {
                InitiatorEnd = (((IPEndPoint)client.RemoteEndPoint!).Port, Port),
                TargetEnd = (_targetPort, ((IPEndPoint)upstream.LocalEndPoint!).Port),
                Client = client,
            };
            _connections[connection] = 0;
            try
            {
                await Task.WhenAny(PumpAsync(client, upstream, connection), PumpAsync(upstream, client, connection));
            }
            finally
            {
                _connections.TryRemove(connection, out _);
            }
        }

        private async Task PumpAsync(Socket from, Socket to, Connection connection)
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    var n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                    if (n == 0) break;
                    if (_partition.IsIsolated(connection))
                    {
                        Interlocked.Add(ref Dropped, n);
                        continue;
                    }
                    var sent = 0;
                    while (sent < n) sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, _stop.Token);
                }
            }
            catch (Exception) { }
            try { to.Shutdown(SocketShutdown.Both); } catch (Exception) { }
            try { from.Shutdown(SocketShutdown.Both); } catch (Exception) { }
        }

        internal void CloseCut()
        {
            foreach (var c in _connections.Keys.Where(c => c.Cut))
                try { c.Client.Shutdown(SocketShutdown.Both); } catch (Exception) { }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
        }
    }
}
