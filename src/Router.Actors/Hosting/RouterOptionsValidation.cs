using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Router.Actors.Camera;
using Router.Actors.Identity;
using Router.Actors.Media;
using Router.Protocol;

namespace Router.Actors.Hosting;

/// <summary>The configured pull sources (section <c>Router</c>, property <c>PullSources</c>).</summary>
public sealed class PullSourceOptions
{
    /// <summary>The configured sources (<c>Router:PullSources:N</c>).</summary>
    public List<PullSourceEntry> PullSources { get; set; } = [];
}

/// <summary>
/// Binds Router's options with <c>IOptions&lt;T&gt;</c> and validates them when the host starts
/// (<c>ValidateOnStart</c>): a bad setting stops the process with exit code 2 and one line per problem, each naming
/// its key.
/// </summary>
public static class RouterOptionsServiceCollectionExtensions
{
    /// <summary>
    /// Checks the keys under <c>Router</c> against <paramref name="surface"/> at once (unknown keys, values that do not
    /// convert), then binds <c>Router:Cluster</c> (<see cref="RouterClusterOptions"/>), <c>Router:Camera</c>
    /// (<see cref="CameraOptions"/>), <c>Router:PullSources</c> (<see cref="PullSourceOptions"/>) and <c>Router:Quotas</c>
    /// (<see cref="Quotas.QuotaOptions"/>, with the process's <see cref="Quotas.TenantQuotas"/>) with their validators, run when the host starts.
    /// </summary>
    /// <exception cref="OptionsValidationException">A key under <c>Router</c> is unknown or its value does not convert.</exception>
    public static IServiceCollection AddRouterOptions(this IServiceCollection services, IConfiguration configuration, RouterConfigurationSurface surface)
    {
        var problems = surface.Problems(configuration);
        if (problems.Count > 0) throw new OptionsValidationException(RouterConfigurationSurface.Root, typeof(RouterConfigurationSurface), problems);
        services.AddOptions<RouterClusterOptions>().BindConfiguration("Router:Cluster").ValidateOnStart();
        services.AddOptions<CameraOptions>().BindConfiguration("Router:Camera").ValidateOnStart();
        services.AddOptions<PullSourceOptions>().BindConfiguration(RouterConfigurationSurface.Root).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RouterClusterOptions>, RouterClusterOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CameraOptions>, CameraOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PullSourceOptions>, PullSourceOptionsValidator>());
        services.AddOptions<Quotas.QuotaOptions>().BindConfiguration("Router:Quotas").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Quotas.QuotaOptions>, Quotas.QuotaOptionsValidator>());
        services.TryAddSingleton<Quotas.TenantQuotas>();
        return services;
    }

    /// <summary>
    /// Runs every <c>ValidateOnStart</c> validation now (the host runs them again at start, but only after it has built
    /// its hosted services, the actor system among them): call it after building the host so that every problem is
    /// listed before anything starts.
    /// </summary>
    /// <exception cref="OptionsValidationException">One options type is invalid.</exception>
    /// <exception cref="AggregateException">Several are (each an <see cref="OptionsValidationException"/>).</exception>
    public static void ValidateRouterOptions(this IServiceProvider services) =>
        services.GetService<IStartupValidator>()?.Validate();

    /// <summary>
    /// The lines to print for a start-up failure caused by configuration (exit code 2), one per problem; null when
    /// <paramref name="exception"/> is not one (an <see cref="OptionsValidationException"/>, several of them in an
    /// <see cref="AggregateException"/>, or a <see cref="RouterConfigurationException"/>).
    /// </summary>
    public static IReadOnlyList<string>? ConfigurationProblems(Exception exception) => exception switch
    {
        OptionsValidationException e => e.Failures.ToList(),
        RouterConfigurationException e => [e.Message],
        AggregateException a when a.InnerExceptions.All(i => ConfigurationProblems(i) is not null) =>
            a.InnerExceptions.SelectMany(i => ConfigurationProblems(i)!).ToList(),
        _ => null,
    };
}

/// <summary>
/// Checks <c>Router:Cluster</c>: the timing rule (<see cref="RouterClusterOptions.DownRemovalMargin"/> at least
/// <see cref="RouterClusterOptions.SplitBrainStableAfter"/>), ports, buffer sizes, and that a remoting frame can carry
/// the largest frame the size policy accepts (<see cref="CameraOptions.SizePolicy"/>'s HardLimitBytes plus
/// <see cref="RemotingFrameOverheadBytes"/>).
/// </summary>
public sealed class RouterClusterOptionsValidator(IOptions<CameraOptions> camera) : IValidateOptions<RouterClusterOptions>
{
    /// <summary>
    /// Bytes a remoting frame needs beyond the JPEG: the frame message's stream key (tenant, source_id and camera_id of
    /// up to 255 characters each, up to 3 UTF-8 bytes per character), its timestamps and sizes, and Akka's envelope
    /// (recipient and sender actor paths, which hold the entity id). 8 KiB covers these with room.
    /// </summary>
    public const int RemotingFrameOverheadBytes = 8 * 1024;

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, RouterClusterOptions options)
    {
        var errors = Problems(options, HardLimitBytes(camera));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>
    /// The size policy's hard limit for a cross-check, or null when <c>Router:Camera</c> is itself invalid (its own
    /// validator reports that; the cross-check is skipped rather than reporting it twice).
    /// </summary>
    public static int? HardLimitBytes(IOptions<CameraOptions> camera)
    {
        try { return camera.Value.SizePolicy.HardLimitBytes; }
        catch (OptionsValidationException) { return null; }
    }

    /// <summary>Every problem of <paramref name="options"/>, each naming its key; empty when valid.</summary>
    /// <param name="options">The cluster options.</param>
    /// <param name="hardLimitBytes">The size policy's hard limit, in bytes; null skips the frame-size check.</param>
    public static IReadOnlyList<string> Problems(RouterClusterOptions options, int? hardLimitBytes)
    {
        const string at = "Router:Cluster";
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.SystemName)) errors.Add($"{at}:SystemName is empty");
        if (string.IsNullOrWhiteSpace(options.Hostname)) errors.Add($"{at}:Hostname is empty");
        if (options.Port is < 0 or > 65535) errors.Add($"{at}:Port ({options.Port}) must be 0–65535");
        if (options.PublicPort is < 1 or > 65535) errors.Add($"{at}:PublicPort ({options.PublicPort}) must be 1–65535");
        if (options.SocketBufferBytes <= 0) errors.Add($"{at}:SocketBufferBytes ({options.SocketBufferBytes}) must be above zero");
        for (var i = 0; i < options.SeedNodes.Count; i++)
            if (!options.SeedNodes[i].StartsWith("akka.tcp://", StringComparison.Ordinal))
                errors.Add($"{at}:SeedNodes:{i} ('{options.SeedNodes[i]}') must be an address such as akka.tcp://{options.SystemName}@host:4053");
        if (options.SplitBrainStableAfter <= TimeSpan.Zero)
            errors.Add($"{at}:SplitBrainStableAfter must be above zero (got {options.SplitBrainStableAfter})");
        else if (options.DownRemovalMargin < options.SplitBrainStableAfter)
            errors.Add(
                $"{at}:DownRemovalMargin ({options.DownRemovalMargin}) must be at least {at}:SplitBrainStableAfter " +
                $"({options.SplitBrainStableAfter}): a shorter margin lets the majority start a partitioned member's camera entities " +
                "while that member still runs them (docs/deploy.md, \"Cluster timings\")");
        if (hardLimitBytes is { } hard && (long)options.MaximumFrameSizeBytes < (long)hard + RemotingFrameOverheadBytes)
            errors.Add(
                $"{at}:MaximumFrameSizeBytes ({options.MaximumFrameSizeBytes}) must be at least Router:Camera:SizePolicy:HardLimitBytes " +
                $"({hard}) + {RemotingFrameOverheadBytes} bytes of message overhead, or frames the size policy accepts cannot cross remoting");
        return errors;
    }
}

/// <summary>
/// Checks <c>Router:Camera</c>: timings above zero (the ack and stall timeouts: not negative, zero turns them off), the pull-source JPEG quality, and the size policy
/// (<see cref="SizePolicyOptions.Problems"/>), so a bad size policy stops the start instead of every camera entity.
/// </summary>
public sealed class CameraOptionsValidator : IValidateOptions<CameraOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, CameraOptions options)
    {
        var errors = Problems(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Every problem of <paramref name="options"/>, each naming its key; empty when valid.</summary>
    public static IReadOnlyList<string> Problems(CameraOptions options)
    {
        const string at = "Router:Camera";
        var errors = new List<string>();
        foreach (var (key, value) in new[]
                 {
                     (nameof(options.LatestFrameMaxAge), options.LatestFrameMaxAge), (nameof(options.OfflineAfter), options.OfflineAfter),
                     (nameof(options.PassivateAfter), options.PassivateAfter), (nameof(options.StatusInterval), options.StatusInterval),
                 })
            if (value <= TimeSpan.Zero) errors.Add($"{at}:{key} must be above zero (got {value})");
        // Zero turns these off (documented); only a negative one is wrong.
        foreach (var (key, value) in new[]
                 {
                     (nameof(options.AckTimeout), options.AckTimeout), (nameof(options.LocalAckTimeout), options.LocalAckTimeout),
                     (nameof(options.RelayStallTimeout), options.RelayStallTimeout), (nameof(options.PullStopAfter), options.PullStopAfter),
                 })
            if (value < TimeSpan.Zero) errors.Add($"{at}:{key} must not be negative (got {value}; 00:00:00 turns it off)");
        if (options.PullJpegQuality is < 1 or > 100) errors.Add($"{at}:PullJpegQuality ({options.PullJpegQuality}) must be 1–100");
        if (options.FanOutThreads < 0) errors.Add($"{at}:FanOutThreads ({options.FanOutThreads}) must not be negative");
        if (!double.IsFinite(options.NewCamerasPerSecondPerTenant) || options.NewCamerasPerSecondPerTenant < 0)
            errors.Add($"{at}:NewCamerasPerSecondPerTenant ({options.NewCamerasPerSecondPerTenant}) must be a finite number, at least 0 (0: no limit)");
        if (options.NewCameraBurstPerTenant < 1)
            errors.Add($"{at}:NewCameraBurstPerTenant ({options.NewCameraBurstPerTenant}) must be at least 1");
        errors.AddRange(SizePolicyOptions.Problems(options.SizePolicy, $"{at}:SizePolicy"));
        errors.AddRange(Gateway.VariantOptions.Problems(options.Variants, $"{at}:Variants"));
        return errors;
    }
}

/// <summary>
/// Checks <c>Router:PullSources</c>: valid tenant, source_id and camera_id, and a url. (A stream given twice is
/// allowed: the later entry replaces the earlier, see <see cref="PullSourceCatalog"/>.)
/// </summary>
public sealed class PullSourceOptionsValidator : IValidateOptions<PullSourceOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, PullSourceOptions options)
    {
        var errors = Problems(options.PullSources);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Every problem of <paramref name="entries"/>, each naming its entry <c>Router:PullSources:N</c>; empty when valid.</summary>
    public static IReadOnlyList<string> Problems(IReadOnlyList<PullSourceEntry> entries)
    {
        var errors = new List<string>();
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            var at = $"Router:PullSources:{i}";
            if (!Identifiers.IsValidTenant(e.Tenant, out var error) || !Identifiers.IsValidSourceId(e.SourceId, out error) ||
                !Identifiers.IsValidCameraId(e.CameraId, out error))
                errors.Add($"{at}: {error}");
            else if (string.IsNullOrWhiteSpace(e.Url)) errors.Add($"{at}: {e.SourceId}/{e.CameraId} has no Url");
        }
        return errors;
    }
}
