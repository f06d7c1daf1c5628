namespace Router.Actors.Hosting;

/// <summary>Cluster membership settings of a Router process (configuration section <c>Router:Cluster</c>).</summary>
public sealed class RouterClusterOptions
{
    /// <summary>Actor system name; every member of one cluster uses the same. Default <c>router</c>.</summary>
    public string SystemName { get; set; } = "router";

    /// <summary>Address remoting binds to. Default <c>127.0.0.1</c>; use <c>0.0.0.0</c> in containers.</summary>
    public string Hostname { get; set; } = "127.0.0.1";

    /// <summary>Address other members use to reach this one (e.g. <c>$(POD_NAME).router-node</c>); defaults to <see cref="Hostname"/>.</summary>
    public string? PublicHostname { get; set; }

    /// <summary>Remoting TCP port; 0 picks a free port (standalone mode). Default 0.</summary>
    public int Port { get; set; }

    /// <summary>Seed node addresses, e.g. <c>akka.tcp://router@router-node-0.router-node:4053</c>. Empty: join itself.</summary>
    public List<string> SeedNodes { get; set; } = [];

    /// <summary>Largest remoting frame in bytes: a 1 MiB frame plus header must fit. Default 2 MiB.</summary>
    public int MaximumFrameSizeBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>
    /// How long the membership must be stable before the keep-majority split-brain resolver downs unreachable members.
    /// Default 5 s (so a crashed node's cameras re-home within about 15 s: ~3 s to detect, 5 s stable, then hand-over).
    /// </summary>
    public TimeSpan SplitBrainStableAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Remoting socket send/receive buffer in bytes. Default 4 MiB.</summary>
    public int SocketBufferBytes { get; set; } = 4 * 1024 * 1024;
}

/// <summary>Shutdown budget of a Router process.</summary>
public static class RouterShutdown
{
    /// <summary>
    /// Upper bound of CoordinatedShutdown (shard hand-off 10 s + leave 10 s + exiting 10 s + the rest), in which a
    /// SIGTERM'd member leaves the cluster and hands its shards over. Hosts allow this much for shutdown; Kubernetes'
    /// terminationGracePeriodSeconds must be larger.
    /// </summary>
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(45);
}
