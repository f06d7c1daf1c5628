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

    /// <summary>Remoting socket send/receive buffer in bytes. Default 4 MiB.</summary>
    public int SocketBufferBytes { get; set; } = 4 * 1024 * 1024;
}
