namespace Router.Gateway.Admission;

/// <summary>What <see cref="CameraFlowControl{TFrame}.Offer"/> did with a frame.</summary>
internal enum FlowOutcome
{
    /// <summary>Sent to its camera at once.</summary>
    Sent,

    /// <summary>Waits until its camera has answered the frame in flight.</summary>
    Waiting,

    /// <summary>Waits, and replaced an older waiting frame of the same camera (that one is dropped).</summary>
    Replaced,

    /// <summary>Refused: the connection already sends to the maximum number of cameras.</summary>
    TooManyCameras,
}

/// <summary>
/// Flow control of one device connection, per camera, newest frame wins: each camera has at most one frame in flight
/// (sent to its camera entity, verdict not yet in) and one waiting frame; a newer frame replaces the waiting one. When
/// the verdict arrives the waiting frame is sent. A frame in flight for longer than <c>staleAfterMs</c> (its camera's
/// shard is moving after a crash) no longer holds its camera back: the next frame is sent at once (the old verdict is
/// still reported). So one slow camera never delays another, a device keeps every camera at its own rate, and the
/// connection holds at most <c>maxCameras</c> × (waiting + in flight) frames. Thread-safe: frames are offered by the
/// receive loop while verdicts complete on the thread pool.
/// </summary>
/// <typeparam name="TFrame">The frame as parsed by the endpoint.</typeparam>
internal sealed class CameraFlowControl<TFrame>(int maxCameras, long staleAfterMs, Func<string, TFrame, Task> send, Func<long>? clock = null) : IDisposable
{
    private sealed class Slot
    {
        public Task? InFlight;
        public long SentAtMs;
        public bool HasWaiting;
        public TFrame? Waiting;
    }

    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly Func<long> _clock = clock ?? (() => Environment.TickCount64);
    private bool _closed;

    /// <summary>Cameras this connection has sent frames for.</summary>
    public int Cameras { get { lock (_lock) return _slots.Count; } }

    /// <summary>Offers the newest frame of <paramref name="cameraId"/>.</summary>
    public FlowOutcome Offer(string cameraId, TFrame frame)
    {
        lock (_lock)
        {
            if (_closed) return FlowOutcome.Waiting;
            if (!_slots.TryGetValue(cameraId, out var slot))
            {
                if (_slots.Count >= maxCameras) return FlowOutcome.TooManyCameras;
                _slots[cameraId] = slot = new Slot();
            }
            var now = _clock();
            if (slot.InFlight is null || slot.InFlight.IsCompleted || now - slot.SentAtMs > staleAfterMs)
            {
                // A frame still waiting is older than this one: this one wins.
                var replaced = slot.HasWaiting;
                slot.HasWaiting = false;
                slot.Waiting = default;
                Send(cameraId, slot, frame, now);
                return replaced ? FlowOutcome.Replaced : FlowOutcome.Sent;
            }
            var hadWaiting = slot.HasWaiting;
            slot.HasWaiting = true;
            slot.Waiting = frame;
            return hadWaiting ? FlowOutcome.Replaced : FlowOutcome.Waiting;
        }
    }

    /// <summary>Drops the waiting frames; frames in flight still complete, nothing more is sent.</summary>
    public void Close()
    {
        lock (_lock)
        {
            _closed = true;
            foreach (var slot in _slots.Values)
            {
                slot.HasWaiting = false;
                slot.Waiting = default;
            }
        }
    }

    /// <summary>Same as <see cref="Close"/> (the connection ended).</summary>
    public void Dispose() => Close();

    private void Send(string cameraId, Slot slot, TFrame frame, long now)
    {
        Task verdict;
        try { verdict = send(cameraId, frame); }
        catch (Exception e) { verdict = Task.FromException(e); }
        slot.InFlight = verdict;
        slot.SentAtMs = now;
        verdict.ContinueWith(done => OnVerdict(cameraId, slot, done), CancellationToken.None,
            TaskContinuationOptions.None, TaskScheduler.Default);
    }

    private void OnVerdict(string cameraId, Slot slot, Task done)
    {
        lock (_lock)
        {
            if (!ReferenceEquals(slot.InFlight, done)) return; // a stale frame's verdict: a newer one is in flight
            slot.InFlight = null;
            if (_closed || !slot.HasWaiting) return;
            var next = slot.Waiting!;
            slot.HasWaiting = false;
            slot.Waiting = default;
            Send(cameraId, slot, next, _clock());
        }
    }
}
