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

    /// <summary>
    /// Port other members use to reach this one when it differs from <see cref="Port"/> (a NAT, a port-forward, or the
    /// fault tests' partition proxy in front of each member); defaults to <see cref="Port"/>.
    /// </summary>
    public int? PublicPort { get; set; }

    /// <summary>Seed node addresses, e.g. <c>akka.tcp://router@router-node-0.router-node:4053</c>. Empty: join itself.</summary>
    public List<string> SeedNodes { get; set; } = [];

    /// <summary>Largest remoting frame in bytes: a 1 MiB frame plus header must fit. Default 2 MiB.</summary>
    public int MaximumFrameSizeBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>
    /// How long the membership must be stable before the keep-majority split-brain resolver downs unreachable members.
    /// Default 2 s. Measured on the 3+2 process cluster (ClusterFaultTests with ROUTER_TEST_LOGS, kill -9 of the node
    /// hosting the camera): the crashed node is marked unreachable ~5 s after the kill, downed after stable-after,
    /// removed ~1 s later, and its shards (and the coordinator singleton, if it lived there) start elsewhere after
    /// <see cref="DownRemovalMargin"/> plus ~0.5 s. With 3 s frames resumed after 11.2–13.4 s (13.4 s on the CI
    /// machine), too close to the 15 s goal; with Akka's default (20 s for this cluster size) far above it. A
    /// shorter value downs a member that is merely paused for longer than failure detection plus this.
    /// </summary>
    public TimeSpan SplitBrainStableAfter { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Margin before shards (and the shard coordinator singleton) of a removed member are started elsewhere: the
    /// other side of a partition downs itself after its own stable-after, so this covers the skew between the sides.
    /// Default 1 s. Measured (ClusterFaultTests, kill -9 of the node hosting the camera): with 2 s frames resumed after
    /// 13.0–14.4 s, and 15.2 s when that node also hosted the coordinator singleton, over the 15 s goal. The cost of a
    /// short margin is that after a real partition a camera entity can briefly run on both sides; a camera entity
    /// keeps no durable state (live frames only), so that costs at most a second of duplicate work.
    /// </summary>
    public TimeSpan DownRemovalMargin { get; set; } = TimeSpan.FromSeconds(1);

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
