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
    /// Default 7 s: Akka's split-brain resolver guide recommends at least 7 s for 5 members and 10 s for 10 (Router's
    /// 3 nodes + 2–10 gateways; gossip here runs every 500 ms, twice Akka's rate, so 7 s also covers the larger sizes).
    /// A member is marked unreachable ~5 s after its heartbeats stop (failure detector: 1 s heartbeats, 3 s acceptable
    /// pause), so a member that stalls (GC pause, CPU throttling, a slow disk) for up to ~12 s is never downed; it only
    /// reads unreachable meanwhile. The cost: after a kill -9 the crashed member's shards start elsewhere after ~5 s
    /// detection + this + ~1 s removal + <see cref="DownRemovalMargin"/> + ~0.5 s (docs/deploy.md, "Cluster timings").
    /// Must not exceed <see cref="DownRemovalMargin"/> (checked at start-up).
    /// </summary>
    public TimeSpan SplitBrainStableAfter { get; set; } = TimeSpan.FromSeconds(7);

    /// <summary>
    /// Margin before shards (and the shard coordinator singleton) of a removed member are started elsewhere. Across a
    /// partition the minority side downs itself after its own <see cref="SplitBrainStableAfter"/>, measured from when
    /// it saw the others unreachable; this margin gives it that long to stop its camera entities before the majority
    /// starts them, so two live copies of one camera entity (both sending to relays) cannot run. Default 7 s; must be
    /// at least <see cref="SplitBrainStableAfter"/> (checked at start-up, as Akka's own default makes them equal).
    /// </summary>
    public TimeSpan DownRemovalMargin { get; set; } = TimeSpan.FromSeconds(7);

    /// <summary>Remoting socket send/receive buffer in bytes. Default 4 MiB.</summary>
    public int SocketBufferBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Checks these options alone (<see cref="RouterClusterOptionsValidator.Problems"/> without the size policy): the
    /// cluster timings (<see cref="SplitBrainStableAfter"/> above zero, <see cref="DownRemovalMargin"/> at least
    /// <see cref="SplitBrainStableAfter"/>), ports, buffers, seed node addresses. The hosts validate the options at
    /// start-up (<see cref="RouterOptionsServiceCollectionExtensions.AddRouterOptions"/>) and exit with code 2.
    /// </summary>
    /// <exception cref="RouterConfigurationException">A setting is out of range; the message names the settings.</exception>
    public void Validate()
    {
        var problems = RouterClusterOptionsValidator.Problems(this, hardLimitBytes: null);
        if (problems.Count > 0) throw new RouterConfigurationException(string.Join("; ", problems));
    }
}

/// <summary>A Router setting is out of range; the process does not start (exit code 2 with the message).</summary>
public sealed class RouterConfigurationException(string message) : InvalidOperationException(message);

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
