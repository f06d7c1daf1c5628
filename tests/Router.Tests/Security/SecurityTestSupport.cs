using System.Diagnostics.Metrics;
using Router.Tests.Support;

namespace Router.Tests.Security;

/// <summary>Sums a counter's measurements (optionally with one tag value) while alive.</summary>
internal sealed class CounterProbe : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;

    public CounterProbe(string name, (string Key, string Value)? tag = null)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Router" && instrument.Name == name) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (tag is { } t && !tags.ToArray().Any(p => p.Key == t.Key && Equals(p.Value, t.Value))) return;
            Interlocked.Add(ref _total, value);
        });
        _listener.Start();
    }

    public long Total => Interlocked.Read(ref _total);

    public void Dispose() => _listener.Dispose();
}

/// <summary>A directory laid out like a Kubernetes Secret volume, updated by an atomic <c>..data</c> symlink swap.</summary>
internal sealed class SecretVolume : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("router-keys-").FullName;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private int _version;

    public SecretVolume(string content)
    {
        Directory.CreateSymbolicLink(Path.Combine(_dir, "..data"), WriteVersion(content));
        File.CreateSymbolicLink(FilePath, Path.Combine("..data", "keys.json"));
    }

    public string FilePath => Path.Combine(_dir, "keys.json");

    private string WriteVersion(string content)
    {
        var version = Path.Combine(_dir, $"..v{++_version}");
        Directory.CreateDirectory(version);
        File.WriteAllText(Path.Combine(version, "keys.json"), content);
        return version;
    }

    public void Update(string content)
    {
        var target = WriteVersion(content);
        var temp = Path.Combine(_dir, "..data_tmp");
        Directory.CreateSymbolicLink(temp, target);
        // rename(2) of the symlink over ..data: atomic, as the kubelet does (File.Move refuses a link to a directory).
        if (Rename(temp, Path.Combine(_dir, "..data")) != 0)
            throw new IOException($"rename failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
    }

    /// <summary>
    /// Updates, then waits until <paramref name="applied"/>; re-publishes the same content every 6 s meanwhile (a
    /// change written while the previous reload was still being applied is only seen by the next one).
    /// </summary>
    public async Task UpdateUntilAsync(string content, Func<Task<bool>> applied)
    {
        var deadline = WaitDeadline.In(Deadline);
        var republish = WaitDeadline.In(TimeSpan.Zero);
        while (!await applied())
        {
            if (deadline.Passed) throw new TimeoutException("the keys file change was not applied in time");
            if (republish.Passed)
            {
                Update(content);
                republish = WaitDeadline.In(TimeSpan.FromSeconds(6));
            }
            await Task.Delay(250);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "rename", SetLastError = true)]
    private static extern int Rename(string oldPath, string newPath);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
