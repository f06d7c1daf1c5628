using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Router.Gateway.Security;

/// <summary>
/// Loads the keys file (<see cref="ApiKeyOptions.ApiKeysFile"/>, JSON <c>{"Router":{"ApiKeys":[…]}}</c>) into the
/// <see cref="ApiKeyStore"/> at start and again whenever it changes, through a standard JSON configuration source with
/// <c>reloadOnChange</c>. The file is watched by polling (<see cref="PhysicalFileProvider.UsePollingFileWatcher"/>,
/// every 4 s, following symlinks), because Kubernetes updates a mounted Secret by swapping a <c>..data</c> symlink that
/// inotify-based watching of the file never reports. An invalid or missing file at start stops the host
/// (<see cref="OptionsValidationException"/>); later, it keeps the previous keys and logs every problem.
/// </summary>
internal sealed class ApiKeyFileReloader(
    ApiKeyStore store,
    IOptions<ApiKeyOptions> options,
    ILogger<ApiKeyFileReloader> logger) : IHostedService, IDisposable
{
    private PhysicalFileProvider? _files;
    private IDisposable? _subscription;
    private Exception? _loadError;
    private string _path = string.Empty;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var configured = options.Value.ApiKeysFile;
        if (string.IsNullOrWhiteSpace(configured)) return Task.CompletedTask;
        _path = Path.GetFullPath(configured);
        _files = new PhysicalFileProvider(Path.GetDirectoryName(_path)!) { UsePollingFileWatcher = true, UseActivePolling = true };
        var root = new ConfigurationBuilder().AddJsonFile(source =>
        {
            source.FileProvider = _files;
            source.Path = Path.GetFileName(_path);
            source.Optional = false;
            source.ReloadOnChange = true;
            source.OnLoadException = context =>
            {
                _loadError = context.Exception;
                context.Ignore = true;
            };
        }).Build();
        var errors = Load(root, out var count, out _);
        if (errors.Count > 0) throw new OptionsValidationException(Options.DefaultName, typeof(ApiKeyOptions), errors);
        logger.LogInformation("API keys file {Path}: {Count} key(s) loaded, watched for changes", _path, count);
        _subscription = ChangeToken.OnChange(root.GetReloadToken, () => Reload(root));
        return Task.CompletedTask;
    }

    private void Reload(IConfigurationRoot root)
    {
        try
        {
            var errors = Load(root, out var count, out var revoked);
            ApiKeyMetrics.FileReloaded(errors.Count == 0);
            if (errors.Count > 0)
                logger.LogError("API keys file {Path} not applied, the previous keys stay: {Problems}", _path, string.Join("; ", errors));
            else
                logger.LogInformation("API keys file {Path} reloaded: {Count} key(s), {Revoked} open connection(s) revoked", _path, count, revoked);
        }
        catch (Exception e)
        {
            // Never let a reload fault the file watcher (or the process): keep the previous keys.
            ApiKeyMetrics.FileReloaded(false);
            logger.LogError(e, "API keys file {Path} not applied, the previous keys stay", _path);
        }
    }

    private List<string> Load(IConfigurationRoot root, out int count, out int revoked)
    {
        count = revoked = 0;
        var loadError = Interlocked.Exchange(ref _loadError, null);
        if (loadError is not null)
            return [$"{_path}: {loadError.InnerException?.Message ?? loadError.Message}"];
        if (!File.Exists(_path)) return [$"{_path}: the file does not exist"];
        var errors = root.AsEnumerable()
            .Select(pair => pair.Key)
            .Where(key => !key.Equals("Router", StringComparison.OrdinalIgnoreCase) &&
                          !key.Equals("Router:ApiKeys", StringComparison.OrdinalIgnoreCase) &&
                          !key.StartsWith("Router:ApiKeys:", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .Select(key => $"{_path}: unknown setting '{key}' (a keys file holds only Router:ApiKeys)")
            .ToList();
        if (errors.Count > 0) return errors;
        ApiKeyOptions? keys;
        try
        {
            keys = root.GetSection("Router").Get<ApiKeyOptions>(binder => binder.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException e)
        {
            return [$"{_path}: {e.Message}"];
        }
        var entries = keys?.ApiKeys ?? [];
        count = entries.Count;
        return store.ReplaceFileKeys(entries, _path, out revoked).ToList();
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        _subscription?.Dispose();
        _files?.Dispose();
    }
}
