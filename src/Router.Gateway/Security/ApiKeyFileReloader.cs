using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Router.Gateway.Security;

/// <summary>
/// Loads the keys file (<see cref="ApiKeyOptions.ApiKeysFile"/>, JSON
/// <c>{"Router":{"ApiKeys":[…],"Tokens":{"SigningKeys":[…]}}}</c>) into the <see cref="ApiKeyStore"/> and the
/// <see cref="ViewerTokens"/> at start and again whenever it changes, through a standard JSON configuration source with
/// <c>reloadOnChange</c>. The file is watched by polling (<see cref="PhysicalFileProvider.UsePollingFileWatcher"/>,
/// every 4 s, following symlinks), because Kubernetes updates a mounted Secret by swapping a <c>..data</c> symlink that
/// inotify-based watching of the file never reports. An invalid or missing file at start stops the host
/// (<see cref="OptionsValidationException"/>); later, it keeps the previous keys and logs every problem.
/// </summary>
internal sealed class ApiKeyFileReloader(
    ApiKeyStore store,
    ViewerTokens tokens,
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
                          !key.StartsWith("Router:ApiKeys:", StringComparison.OrdinalIgnoreCase) &&
                          !key.Equals("Router:Tokens", StringComparison.OrdinalIgnoreCase) &&
                          !key.Equals("Router:Tokens:SigningKeys", StringComparison.OrdinalIgnoreCase) &&
                          !key.StartsWith("Router:Tokens:SigningKeys:", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .Select(key => $"{_path}: unknown setting '{key}' (a keys file holds only Router:ApiKeys and Router:Tokens:SigningKeys)")
            .ToList();
        if (errors.Count > 0) return errors;
        List<ApiKeyEntry>? entries;
        List<TokenSigningKey>? signingKeys;
        try
        {
            entries = root.GetSection("Router:ApiKeys").Get<List<ApiKeyEntry>>(binder => binder.ErrorOnUnknownConfiguration = true);
            signingKeys = root.GetSection("Router:Tokens:SigningKeys").Get<List<TokenSigningKey>>(binder => binder.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException e)
        {
            return [$"{_path}: {e.Message}"];
        }
        entries ??= [];
        signingKeys ??= [];
        count = entries.Count;
        // Both or neither: check the signing keys before the API keys are replaced.
        var problems = tokens.FileKeyProblems(signingKeys, _path).ToList();
        if (problems.Count > 0) return problems;
        problems = store.ReplaceFileKeys(entries, _path, out revoked).ToList();
        if (problems.Count > 0) return problems;
        problems = tokens.ReplaceFileKeys(signingKeys, _path, out var closed).ToList();
        revoked += closed;
        return problems;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        _subscription?.Dispose();
        _files?.Dispose();
    }
}
