using Microsoft.Extensions.Configuration;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Protocol;

namespace Router.Actors.Hosting;

/// <summary>One configured pull source (configuration <c>Router:PullSources:N</c>).</summary>
public sealed class PullSourceEntry
{
    /// <summary>Tenant that owns the stream.</summary>
    public string Tenant { get; set; } = string.Empty;

    /// <summary>source_id of the stream.</summary>
    public string SourceId { get; set; } = string.Empty;

    /// <summary>camera_id of the stream. Default <c>camera:0</c>.</summary>
    public string CameraId { get; set; } = Identifiers.DefaultCameraId;

    /// <summary>What to open: file path, <c>rtsp://</c>, <c>http(s)://</c>, <c>webcam:N</c>, <c>testpattern:</c>.</summary>
    public string Url { get; set; } = string.Empty;
}

/// <summary>Reads Router's configuration sections (ASP.NET conventions: appsettings.json, then environment
/// variables such as <c>Router__Cluster__SeedNodes__0</c>, then the command line).</summary>
public static class RouterConfiguration
{
    /// <summary>Reads <c>Router:Cluster</c>.</summary>
    public static RouterClusterOptions Cluster(IConfiguration configuration) =>
        configuration.GetSection("Router:Cluster").Get<RouterClusterOptions>() ?? new RouterClusterOptions();

    /// <summary>Reads <c>Router:Camera</c>.</summary>
    public static CameraOptions Camera(IConfiguration configuration) =>
        configuration.GetSection("Router:Camera").Get<CameraOptions>() ?? new CameraOptions();

    /// <summary>Reads <c>Router:PullSources</c>, plus <paramref name="extra"/> sources (e.g. the standalone demo camera).</summary>
    /// <exception cref="InvalidOperationException">An entry has an invalid tenant, source_id, camera_id or an empty url.</exception>
    public static PullSourceCatalog PullSources(IConfiguration configuration, params PullSourceDefinition[] extra)
    {
        var entries = configuration.GetSection("Router:PullSources").Get<List<PullSourceEntry>>() ?? [];
        return PullSources(entries, extra);
    }

    /// <summary>The catalog of <paramref name="entries"/> (<c>Router:PullSources</c>) plus <paramref name="extra"/> sources.</summary>
    /// <exception cref="InvalidOperationException">An entry has an invalid tenant, source_id, camera_id or an empty url.</exception>
    public static PullSourceCatalog PullSources(IReadOnlyList<PullSourceEntry> entries, params PullSourceDefinition[] extra)
    {
        var problems = PullSourceOptionsValidator.Problems(entries);
        if (problems.Count > 0) throw new InvalidOperationException(string.Join("; ", problems));
        var sources = entries.Select(e => new PullSourceDefinition(new StreamKey(e.Tenant, e.SourceId, e.CameraId), e.Url)).ToList();
        sources.AddRange(extra);
        return new PullSourceCatalog(sources);
    }
}
