using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Router.Actors.Camera;
using Router.Actors.Directory;
using Router.Actors.Messages;
using Router.Actors.Serialization;

namespace Router.Actors.Hosting;

/// <summary>Registry key of the camera shard region (or, on a gateway, of its proxy).</summary>
public sealed class CameraRegion;

/// <summary>Registry key of the node-local <see cref="CameraDirectoryActor"/>.</summary>
public sealed class CameraDirectory;

/// <summary>Registry key of the gateway's <see cref="Gateway.CameraRelaysActor"/> (consumers subscribe through it).</summary>
public sealed class CameraRelays;

/// <summary>The cluster roles of Router.</summary>
public static class RouterRoles
{
    /// <summary>Hosts the camera shard region and the pull-source capture.</summary>
    public const string Node = "node";

    /// <summary>Hosts the HTTP/WebSocket endpoints, a camera region proxy and the consumer actors.</summary>
    public const string Gateway = "gateway";
}

/// <summary>Akka.Hosting extensions: one per concern and role of a Router process.</summary>
public static class RouterAkkaHostingExtensions
{
    /// <summary>The sharding type name of camera entities.</summary>
    public const string CameraTypeName = "camera";

    /// <summary>Binds <see cref="IRouterMessage"/> to <see cref="RouterSerializer"/> (binary frames, no JSON).</summary>
    public static AkkaConfigurationBuilder WithRouterSerialization(this AkkaConfigurationBuilder builder) =>
        builder.WithCustomSerializer("router", [typeof(IRouterMessage)], system => new RouterSerializer(system));

    /// <summary>
    /// Remoting and clustering for a Router process with the given roles: frame size and socket buffers raised so a
    /// 1 MiB frame crosses, keep-majority split-brain resolver, sharding state in DData. With no seed nodes the
    /// process joins itself (standalone mode).
    /// </summary>
    /// <exception cref="RouterConfigurationException">The cluster timings are out of range (<see cref="RouterClusterOptions.Validate"/>).</exception>
    public static AkkaConfigurationBuilder WithRouterCluster(this AkkaConfigurationBuilder builder, RouterClusterOptions options, params string[] roles)
    {
        options.Validate();
        builder
            .WithRemoting(new RemoteOptions
            {
                HostName = options.Hostname,
                Port = options.Port,
                PublicHostName = options.PublicHostname ?? options.Hostname,
                PublicPort = options.PublicPort,
                MaxFrameSize = options.MaximumFrameSizeBytes,
                SendBufferSize = options.SocketBufferBytes,
                ReceiveBufferSize = options.SocketBufferBytes,
            })
            .WithClustering(new ClusterOptions
            {
                Roles = roles,
                SeedNodes = options.SeedNodes.ToArray(),
                SplitBrainResolver = new KeepMajorityOption(),
            })
            .WithDistributedPubSub(string.Empty)
            .ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                loggers.AddLoggerFactory(); // Akka logs through Microsoft.Extensions.Logging ("Akka" category filters apply)
            })
            .AddHocon($$"""
                akka.cluster.sharding.state-store-mode = ddata
                akka.cluster.sharding.remember-entities = off
                akka.cluster.split-brain-resolver.stable-after = {{(int)options.SplitBrainStableAfter.TotalMilliseconds}}ms
                akka.cluster.down-removal-margin = {{(int)options.DownRemovalMargin.TotalMilliseconds}}ms
                # Measured on the 3+2 process cluster (ClusterFaultTests with ROUTER_TEST_LOGS): after a kill -9 the
                # leader removed the downed member ~1.9 s after marking it Down (gossip convergence + leader tick, 1 s
                # each by default); 500 ms each halves that. Gossip of 5-50 members every 500 ms is a few KB/s.
                akka.cluster.gossip-interval = 500ms
                akka.cluster.leader-actions-interval = 500ms
                # Regions and proxies retry registering with a moved shard coordinator (and shard-home requests it did
                # not answer) at this interval; the default 2 s adds up to 2 s to a hand-off whose coordinator moved.
                akka.cluster.sharding.retry-interval = 500ms
                # Rebalancing onto a joining node (ScaleOutTests): Akka's defaults (a check every 10 s moving ONE shard
                # per round, the deprecated threshold algorithm) would need ~6 rounds, a minute, to give a 4th node its
                # share of 24 cameras. The newer algorithm (on when rebalance-absolute-limit > 0) moves the excess in
                # one round, at most min(20, half the allocated shards); a moved camera pauses for its hand-off
                # (largest gap 0.7-1.6 s measured with 24 cameras, docs/deploy.md).
                akka.cluster.sharding.rebalance-interval = 3s
                # The sharding state's replicator (coordinator state, written and read with majority consistency, so
                # gossip is only its background repair) gossips every 2.5 s instead of 2 s (or of the 1 s it inherited
                # with quotas set): its delta tick (gossip / 5) is then 500 ms, on the scheduler's 500 ms grid with
                # the other periodic timers, instead of 400 ms in slots of its own (issue 11).
                akka.cluster.sharding.distributed-data.gossip-interval = 2500ms
                akka.cluster.sharding.least-shard-allocation-strategy.rebalance-absolute-limit = 20
                akka.cluster.sharding.least-shard-allocation-strategy.rebalance-relative-limit = 0.5
                # The scheduler's timer wheel wakes its thread every tick, even with nothing due: at Akka's 10 ms that was
                # ~1 % of a core on an idle process (bench --scenario rest: 1.6 % -> 0.6 % at rest with 50 ms). Router's
                # timers are 50 ms and up (sweeps, liveness, resubscribe, ask timeouts), so a timer fires at most one
                # tick (50 ms) late; the failure detector's 1 s heartbeats and 3 s acceptable pause are unaffected.
                akka.scheduler.tick-duration = 50ms
                # Akka's hashed wheel ticks through a .NET PeriodicTimer: each tick wakes the runtime's timer thread 3-4
                # times and a thread-pool worker (which wakes a second one), due timers or not. IdleAwareScheduler sleeps
                # on its own thread until the next due timer (on the same 50 ms grid): an idle cluster process went from
                # ~500 to ~360 thread wake-ups a second (docs/benchmarks.md, issue 11).
                akka.scheduler.implementation = "{{typeof(IdleAwareScheduler).AssemblyQualifiedName}}"
                # Each remoting endpoint writer checks every piggyback-timeout / 2 whether a system-message ack is due
                # (Akka's 0.3 s: a 150 ms tick per writer, in most of the scheduler's slots at rest). 1 s: the tick is
                # 500 ms, on the scheduler's 500 ms grid; an ack still goes out within 1.5 s, before the sender's 2 s
                # resend-interval, and rides on any ordinary message before that.
                akka.remote.system-message-ack-piggyback-timeout = 1s
                # Heartbeats go to this many other members (Akka's default 9: every peer in a 3+2 cluster). Each member
                # is still watched by 3 (more while some are unreachable), with the same interval, acceptable pause
                # and detection time (docs/deploy.md, Cluster timings); a quarter fewer heartbeat messages at rest.
                akka.cluster.failure-detector.monitored-by-nr-of-members = 3
                # An outbound association whose TCP connection is reset while the peer is still starting its remoting
                # can hang in Akka.Remote's DotNetty transport until this timeout (it is also the handshake timeout):
                # Akka's 15 s outlasted a cluster's start-up and the failure detector marked the peer unreachable
                # (both directions wait: the peer's inbound association is stashed behind the hung writer). Seen in
                # 2 of 5 cluster start-ups of one CI run; 5 s ends it before the members have joined, and a connect or
                # handshake on a LAN or in a pod network takes milliseconds. The address is then gated for 5 s.
                akka.remote.dot-netty.tcp.connection-timeout = 5s
                akka.coordinated-shutdown.phases.cluster-sharding-shutdown-region.timeout = 10s
                akka.coordinated-shutdown.phases.cluster-leave.timeout = 10s
                akka.coordinated-shutdown.phases.cluster-exiting.timeout = 10s
                """, HoconAddMode.Prepend);
        if (options.SeedNodes.Count == 0)
        {
            builder.AddStartup((system, _) =>
            {
                var cluster = Akka.Cluster.Cluster.Get(system);
                cluster.Join(cluster.SelfAddress);
            });
        }
        return builder;
    }

    /// <summary>The node-local camera directory (every role needs one; gateways query it for online cameras).</summary>
    public static AkkaConfigurationBuilder WithCameraDirectory(this AkkaConfigurationBuilder builder, PullSourceCatalog pullSources) =>
        builder.WithActors((system, registry) =>
            registry.Register<CameraDirectory>(system.ActorOf(CameraDirectoryActor.Props(pullSources, useDistributedPubSub: true), "camera-directory")));

    /// <summary>
    /// The <c>node</c> role: the shard region of camera entities (100 shards, DData coordinator state), entities
    /// created on demand and passivated when idle.
    /// </summary>
    /// <param name="builder">The Akka configuration.</param>
    /// <param name="options">Camera entity settings.</param>
    /// <param name="pullSources">The configured pull sources.</param>
    /// <param name="quotas">The process's quota accounting (online cameras per tenant); null: no quotas.</param>
    public static AkkaConfigurationBuilder WithCameraShardRegion(this AkkaConfigurationBuilder builder, CameraOptions options, PullSourceCatalog pullSources,
        Quotas.TenantQuotas? quotas = null) =>
        builder.WithFanOutDispatcher(options.FanOutThreads).WithShardRegion<CameraRegion>(
            CameraTypeName,
            (_, registry, _) => entityId => CameraActor.Props(entityId, options, pullSources, registry.Get<CameraDirectory>(), quotas),
            new CameraMessageExtractor(),
            new ShardOptions
            {
                Role = RouterRoles.Node,
                StateStoreMode = StateStoreMode.DData,
                RememberEntities = false,
                HandOffStopMessage = PoisonPill.Instance,
                // The entity passivates itself, and only when it has no subscribers (CameraOptions.PassivateAfter).
                ShouldPassivateIdleEntities = false,
            });

    /// <summary>
    /// The gateway's per-camera relays: consumers on this process watching one camera share one upstream subscription.
    /// Needs the <see cref="CameraRegion"/> (region or proxy) registered first.
    /// </summary>
    public static AkkaConfigurationBuilder WithCameraRelays(this AkkaConfigurationBuilder builder, CameraOptions options) =>
        builder.WithFanOutDispatcher(options.FanOutThreads).WithActors((system, registry) =>
            registry.Register<CameraRelays>(system.ActorOf(
                Gateway.CameraRelaysActor.Props(registry.Get<CameraRegion>(), options), "camera-relays")));

    /// <summary>The <c>gateway</c> role without local entities: a proxy to the camera shard region on <c>node</c> members.</summary>
    public static AkkaConfigurationBuilder WithCameraShardProxy(this AkkaConfigurationBuilder builder) =>
        builder.WithShardRegionProxy<CameraRegion>(CameraTypeName, RouterRoles.Node, new CameraMessageExtractor());
}
