using System.Security.Cryptography;
using System.Text;
using Router.Bench.Media;

namespace Router.Bench.Scenarios;

/// <summary>Settings of one bench run.</summary>
internal sealed record BenchSettings
{
    /// <summary>Extra environment variables (KEY=VALUE) for the Router processes, for A/B runs of runtime knobs.</summary>
    public IReadOnlyList<string> RouterEnv { get; init; } = [];
    /// <summary>peer: KEY=VALUE variables of a second Router (<c>router-b</c>, <c>jpeg</c>) run beside the first (A/B); empty = none.</summary>
    public IReadOnlyList<string> RouterBEnv { get; init; } = [];

    /// <summary>Extra environment variables (KEY=VALUE) for the floor process, e.g. Router's runtime knobs for a like-for-like floor.</summary>
    public IReadOnlyList<string> FloorEnv { get; init; } = [];

    public required string Scenario { get; init; }
    public bool Quick { get; init; }
    public required string Repo { get; init; }
    public required string BenchRepo { get; init; }
    public required string OutJson { get; init; }
    public required string ChartsDir { get; init; }
    public required string MediaPath { get; init; }
    public required double WindowSeconds { get; init; }
    public required double WarmupSeconds { get; init; }
    public int[]? ConsumerCounts { get; init; }
    public string[] Formats { get; init; } = ["binary", "json"];
    public string[] Servers { get; init; } = ["router", "floor"];
    public int IdleCount { get; init; } = 10_000;
    public int Cameras { get; init; } = 200;
    /// <summary>perf or dotnet-trace: profile the first measured window of each server.</summary>
    public string? Profile { get; init; }
    public string ProfileDir { get; init; } = "/tmp/router-bench-profiles";
    public required string LogDir { get; init; }
    /// <summary>The go2rtc binary of the peer scenario (default ../shared/peers/go2rtc/go2rtc).</summary>
    public string Go2rtcPath { get; init; } = "";
    /// <summary>Servers the peer scenario runs (go2rtc, floor, router), when --servers names them; null = all.</summary>
    public string[]? PeerServers { get; init; }
    /// <summary>Runs of each point of the peer scenario (interleaved).</summary>
    public int Repeat { get; init; } = 1;
    /// <summary>The peer scenario runs the servers of each point at the same time (one window for all) instead of one after another.</summary>
    public bool Paired { get; init; }
    /// <summary>Seconds the rest scenario measures each at-rest state (default 30).</summary>
    public double RestSeconds { get; init; } = 30;
    /// <summary>Seconds the rest scenario lets a server settle before a window (default 40; tiered JIT works for ~30 s after start).</summary>
    public double RestSettleSeconds { get; init; } = 40;
    /// <summary>Camera rates (fps) of the rest scenario's "one camera pushing, nobody watching" state, one window each (default 30).</summary>
    public IReadOnlyList<double> RestFps { get; init; } = [30];
    /// <summary>The rest scenario measures only the local cluster.</summary>
    public bool RestClusterOnly { get; init; }
}

/// <summary>Everything the scenarios share: settings, the frames, the API key, where the server builds are.</summary>
internal sealed class BenchContext(BenchSettings settings, FrameSet frames, TextWriter output)
{
    public BenchSettings Settings { get; } = settings;

    public FrameSet Frames { get; } = frames;

    public TextWriter Out { get; } = output;

    /// <summary>The key every server under test accepts (tenant with ingest + view).</summary>
    public string ApiKey { get; } = "bench_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public string ApiKeySha256 => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ApiKey)));

    public TimeSpan Window => TimeSpan.FromSeconds(Settings.WindowSeconds);

    public TimeSpan Warmup => TimeSpan.FromSeconds(Settings.WarmupSeconds);

    /// <summary>Router's one executable; its role (standalone, node, gateway) is chosen with <c>--role</c>.</summary>
    public string NodeDll => Path.Combine(Settings.Repo, "src/Router.Node/bin/Release/net10.0/Router.Node.dll");

    public string BenchDll => typeof(BenchContext).Assembly.Location;

    public void Log(string line)
    {
        lock (Out) Out.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}");
    }
}
