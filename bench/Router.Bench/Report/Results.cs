namespace Router.Bench.Report;

/// <summary>What one server process did during a measurement window.</summary>
internal sealed record ProcDelta(
    string Name, int Pid, string Cpus, double CpuSeconds, double CpuCores, double UserSeconds, double SysSeconds, long PeakRssBytes, long RssEndBytes,
    long ReadBytes, long WriteBytes, int Threads, bool PeakIsWindow);

/// <summary>Slow-consumer figures of S3 (per server).</summary>
internal sealed record SlowStats(
    int SlowConsumers, double SlowFpsMedian, double SlowLatencyP50Ms, double SlowStalenessMeanFrames, long SlowConflated,
    double StallSeconds, double KernelQueuedKiBMean, double KernelQueuedFramesMean, double BacklogFramesMean, double BacklogFramesMax,
    double ServerHeldFramesEstMean, double ServerHeldFramesEstMax, long StaleFromServerMax, long FreshLagMax, int Measured,
    string Note);

/// <summary>One measurement: a server, a format, a number of cameras and consumers, one window.</summary>
internal sealed class FanoutRow
{
    public string Scenario { get; set; } = "";
    public string Server { get; set; } = "";
    public string Format { get; set; } = "";
    public int Cameras { get; set; }
    public int Consumers { get; set; }
    public int ConsumersConnected { get; set; }
    public int SlowConsumers { get; set; }
    public double TargetFps { get; set; }
    public double WindowSeconds { get; set; }
    public long DeviceFramesSent { get; set; }
    public long DeviceSlotsSkipped { get; set; }
    public long DeviceErrors { get; set; }
    public string? DeviceLastError { get; set; }
    public long FramesDelivered { get; set; }
    public long BytesDelivered { get; set; }
    public double FpsMin { get; set; }
    /// <summary>10th percentile of the consumers' fps (a tenth of them got less).</summary>
    public double FpsP10 { get; set; }
    public double FpsMedian { get; set; }
    public double FpsMax { get; set; }
    public double AggregateFps { get; set; }
    public double MBps { get; set; }
    public double LatencyP50Ms { get; set; }
    public double LatencyP99Ms { get; set; }
    public double LatencyMaxMs { get; set; }
    public long LatencySamples { get; set; }
    public long DroppedConflated { get; set; }
    public long DroppedLate { get; set; }
    public long OutOfOrder { get; set; }
    public long UnknownFrames { get; set; }
    public long NotYetDelivered { get; set; }
    public List<ProcDelta> Processes { get; set; } = [];
    public double ServerCpuSeconds { get; set; }
    public double ServerCpuCores { get; set; }
    public long ServerPeakRssBytes { get; set; }
    public double CpuSecondsPerGB { get; set; }
    public double ClientCpuSeconds { get; set; }
    public double ClientCpuCores { get; set; }
    public double MachineBusyFraction { get; set; }
    /// <summary>CPU (cores) used by processes other than the server(s) and the load generator during the window.</summary>
    public double OtherCpuCores { get; set; }
    public double ServerSysFraction { get; set; }
    /// <summary>
    /// CPU (cores) over the window of the server's child processes that were alive through it, e.g. go2rtc's
    /// <c>exec:</c> source (<c>cat</c> of the bench's TCP stream, which does go2rtc's TCP receive of the camera). Not in
    /// <see cref="ServerCpuCores"/> or <see cref="CpuSecondsPerGB"/>; see <see cref="CpuSecondsPerGBWithChildren"/>.
    /// </summary>
    public double ChildCpuCores { get; set; }
    /// <summary>(server + <see cref="ChildCpuCores"/>) CPU seconds per delivered GB.</summary>
    public double CpuSecondsPerGBWithChildren { get; set; }
    public bool ClientSaturated { get; set; }
    public bool MachineSaturated { get; set; }
    public string FormatCheck { get; set; } = "";
    public List<string> Notes { get; set; } = [];
    public SlowStats? Slow { get; set; }
    public Dictionary<string, double> Extra { get; set; } = [];
}

/// <summary>Router's S1 row set against the floor's.</summary>
internal sealed record FloorComparison(
    string Format, int Consumers, double RouterCpuPerGB, double FloorCpuPerGB, double Efficiency, double FpsRatio, double P99Ratio,
    double TargetCpuPerGB, bool MeetsTarget, bool MeetsFloor);

/// <summary>S3 verdict for one server.</summary>
internal sealed record SlowVerdict(
    string Server, double FastFpsMedian, double BaselineFpsMedian, double FpsKept, double FastP99Ms, double BaselineP99Ms,
    bool FpsPass, bool P99Pass, bool HeldPass, bool NewestPass);

/// <summary>S5: idle subscribers on one process.</summary>
internal sealed record IdleResult(
    string Server, int Requested, int Connected, int Failed, string? FirstError, double ConnectSeconds, int Baseline, long RssBeforeBytes,
    long RssAfterBytes, double BytesPerSubscriber, double IdleCpuCores, int Threads, long MessagesReceived);

/// <summary>S4: one consumer count on the cluster (node + gateway processes).</summary>
internal sealed record CrossNodeRow(
    int Consumers, double FpsMedian, double LatencyP99Ms, long FramesSent, double NodeTxBytesPerFrame, double NodeRxBytesPerFrame,
    double RemoteFramesPerFrame, double RemoteBytesPerFrame, double NodeCpuCores, double GatewayCpuCores, double JpegBytesMean);

internal sealed class CrossNodeResult
{
    public string Status { get; set; } = "skipped";
    public string? Reason { get; set; }
    public List<CrossNodeRow> Rows { get; set; } = [];
}

internal sealed class BenchResults
{
    public string StartedUtc { get; set; } = "";
    public string Command { get; set; } = "";
    public Dictionary<string, object> Machine { get; set; } = [];
    public Dictionary<string, object> Media { get; set; } = [];
    public Dictionary<string, object> Settings { get; set; } = [];
    public Dictionary<string, double> Targets { get; set; } = [];
    public List<FanoutRow> Fanout { get; set; } = [];
    public List<FloorComparison> FanoutVsFloor { get; set; } = [];
    public List<FanoutRow> ManyCameras { get; set; } = [];
    public List<FanoutRow> SlowConsumers { get; set; } = [];
    public List<SlowVerdict> SlowVerdicts { get; set; } = [];
    public CrossNodeResult? CrossNode { get; set; }
    public List<IdleResult> Idle { get; set; } = [];
    public List<FanoutRow> Variants { get; set; } = [];
    public List<FanoutRow> Peer { get; set; } = [];
    public List<PeerComparison> PeerVsRouter { get; set; } = [];
    public List<RestRow> Rest { get; set; } = [];
    public List<string> Skipped { get; set; } = [];
    public List<string> Notes { get; set; } = [];
}

/// <summary>The peer scenario at one consumer count: go2rtc, the floor and Router side by side (one run each).</summary>
internal sealed record PeerComparison(
    int Consumers, int Run, double Go2rtcCpuPerGB, double FloorCpuPerGB, double RouterJpegCpuPerGB, double RouterJsonCpuPerGB,
    bool JpegAtMostGo2rtc, double JsonOverJpeg, bool JsonWithin15, bool FpsHeldWhereGo2rtcDoes, double Go2rtcWithSourceCpuPerGB = double.NaN);

/// <summary>
/// One process in one at-rest state: CPU share of one core over the window (<see cref="UserPercentOfCore"/> of it in
/// user mode) and RSS at its end. With a camera pushing, <see cref="CameraFps"/> is the frames it sent per second over
/// the window and <see cref="CpuMicrosecondsPerFrame"/> the process's CPU time per frame sent (µs).
/// </summary>
internal sealed record RestRow(string Server, string State, string Process, double Seconds, double CpuPercentOfCore, long RssBytes, int Threads,
    double WakeupsPerSecond = double.NaN, double UserPercentOfCore = double.NaN, double CameraFps = double.NaN)
{
    /// <summary>CPU µs per frame the camera sent in the window; NaN without a camera.</summary>
    public double CpuMicrosecondsPerFrame => CameraFps > 0 ? Math.Round(CpuPercentOfCore / 100 * 1e6 / CameraFps, 0) : double.NaN;
}
