using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Event;

namespace Router.Actors.Hosting;

/// <summary>
/// Akka's scheduler (<c>akka.scheduler.implementation</c>) for Router processes: one dedicated thread that sleeps until
/// the earliest due timer instead of waking every tick. Due times are rounded up to a grid of
/// <c>akka.scheduler.tick-duration</c> (50 ms in Router), so timers due in the same slot fire together, as on Akka's
/// hashed wheel, and a timer fires at most one tick late. A repeating timer whose interval is a whole number of 500 ms
/// (or of 100 ms) runs on that coarser grid instead: its period is unchanged, its first run comes up to 500 ms (100 ms)
/// after its initial delay, and the periodic timers of a process at rest (heartbeats, gossip, sweeps, retry ticks: 1 s,
/// 500 ms) all fire in the same few slots a second instead of spreading over all twenty.
/// </summary>
/// <remarks>
/// Akka's <see cref="HashedWheelTimerScheduler"/> (1.5) ticks through a <see cref="PeriodicTimer"/>: every tick wakes
/// the runtime's timer thread (3–4 times, re-arming included) and a thread-pool worker (which wakes a second one), due
/// timers or not: replacing it took an idle cluster process from ~500 to ~365 thread wake-ups a second at the same
/// 50 ms tick (docs/benchmarks.md, issue 11). Here a slot with nothing due costs nothing, and a slot with work wakes this one thread, which runs the due
/// tasks itself (a tell, or a scheduled action, as on the hashed wheel).
/// </remarks>
internal sealed class IdleAwareScheduler : SchedulerBase, IDateTimeOffsetNowTimeProvider, IDisposable
{
    private static readonly long[] PeriodicGrids = [TimeSpan.FromMilliseconds(500).Ticks, TimeSpan.FromMilliseconds(100).Ticks];
    private readonly long _tickTicks; // Stopwatch ticks per grid slot
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly object _gate = new();
    private readonly PriorityQueue<Work, long> _queue = new();
    private readonly List<Work> _due = new();
    private readonly Thread _thread;
    private long _sleepingUntil = long.MaxValue; // under _gate: when the thread wakes next (MaxValue: running or no timer)
    private int _purgeAt = 1024;
    private bool _stopped;

    /// <summary>Created by Akka (<c>akka.scheduler.implementation</c>) with the system's configuration.</summary>
    public IdleAwareScheduler(Config config, ILoggingAdapter log) : base(config, log)
    {
        var tick = config.GetTimeSpan("akka.scheduler.tick-duration", TimeSpan.FromMilliseconds(10));
        if (tick <= TimeSpan.Zero) throw new ConfigurationException($"akka.scheduler.tick-duration must be > 0, was {tick}");
        _tickTicks = ToTicks(tick);
        _thread = new Thread(Run) { IsBackground = true, Name = "akka-scheduler" };
        _thread.Start();
    }

    protected override DateTimeOffset TimeNow => DateTimeOffset.UtcNow;

    public override TimeSpan MonotonicClock => AkkaClock.Elapsed();

    public override TimeSpan HighResMonotonicClock => AkkaClock.ElapsedHighRes();

    protected override void InternalScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Add(new Work(receiver, message, sender, null, cancelable, 0, _tickTicks), delay);

    protected override void InternalScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message, IActorRef sender,
        ICancelable cancelable) =>
        Add(new Work(receiver, message, sender, null, cancelable, ToTicks(interval), Grid(interval)), initialDelay);

    protected override void InternalScheduleOnce(TimeSpan delay, Action action, ICancelable cancelable) =>
        Add(new Work(null, null, null, new ActionRunnable(action), cancelable, 0, _tickTicks), delay);

    protected override void InternalScheduleOnce(TimeSpan delay, IRunnable action, ICancelable cancelable) =>
        Add(new Work(null, null, null, action, cancelable, 0, _tickTicks), delay);

    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action, ICancelable cancelable) =>
        Add(new Work(null, null, null, new ActionRunnable(action), cancelable, ToTicks(interval), Grid(interval)), initialDelay);

    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action, ICancelable cancelable) =>
        Add(new Work(null, null, null, action, cancelable, ToTicks(interval), Grid(interval)), initialDelay);

    /// <summary>Timers in the queue, cancelled ones not yet purged included (tests).</summary>
    internal int Pending
    {
        get
        {
            lock (_gate) return _queue.Count;
        }
    }

    /// <summary>Stops the thread; timers not yet due are dropped (the actor system is terminating).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopped = true;
            Monitor.Pulse(_gate);
        }
        if (Thread.CurrentThread != _thread) _thread.Join(TimeSpan.FromSeconds(5));
    }

    /// <summary>Stopwatch ticks of <paramref name="t"/>, at least 1, at most a quarter of long.MaxValue (no overflow for TimeSpan.MaxValue).</summary>
    private static long ToTicks(TimeSpan t) =>
        (long)Int128.Clamp((Int128)t.Ticks * Stopwatch.Frequency / TimeSpan.TicksPerSecond, 1, long.MaxValue / 4);

    /// <summary>
    /// The thread's wait for a timer due in <paramref name="ticks"/> Stopwatch ticks: whole milliseconds rounded up (plus
    /// one), 1 ms to <see cref="int.MaxValue"/> ms. Computed in 128 bits: a timer months away (up to long.MaxValue / 4
    /// ticks, <see cref="ToTicks"/>) is a long wait, not an overflowed product and a 1 ms spin.
    /// </summary>
    internal static int WaitMilliseconds(long ticks) =>
        (int)Int128.Clamp((Int128)ticks * 1000 / Stopwatch.Frequency + 1, 1, int.MaxValue);

    /// <summary>The grid (Stopwatch ticks) of a repeating timer: the coarsest of 500 ms and 100 ms that divides its interval, else the tick.</summary>
    private long Grid(TimeSpan interval)
    {
        foreach (var grid in PeriodicGrids)
            if (interval.Ticks % grid == 0)
                return Math.Max(_tickTicks, ToTicks(TimeSpan.FromTicks(grid)));
        return _tickTicks;
    }

    /// <summary>The end of the <paramref name="grid"/> slot that <paramref name="at"/> falls in (never earlier than <paramref name="at"/>).</summary>
    private static long Slot(long at, long grid) => (at + grid - 1) / grid * grid;

    private void Add(Work work, TimeSpan delay) => Enqueue(work, Slot(_clock.ElapsedTicks + ToTicks(delay), work.Grid));

    private void Enqueue(Work work, long due)
    {
        lock (_gate)
        {
            if (_stopped) return;
            _queue.Enqueue(work, due);
            if (_queue.Count > _purgeAt) Purge();
            if (due < _sleepingUntil) Monitor.Pulse(_gate);
        }
    }

    /// <summary>Drops cancelled timers (they otherwise wait in the queue until they are due). Under <see cref="_gate"/>.</summary>
    private void Purge()
    {
        var live = _queue.UnorderedItems.Where(e => e.Element.Cancelable is not { IsCancellationRequested: true }).ToList();
        _queue.Clear();
        foreach (var (w, due) in live) _queue.Enqueue(w, due);
        _purgeAt = Math.Max(1024, live.Count * 2);
    }

    private void Run()
    {
        while (true)
        {
            lock (_gate)
            {
                while (true)
                {
                    if (_stopped) return;
                    var now = _clock.ElapsedTicks;
                    if (_queue.TryPeek(out _, out var next) && next <= now)
                    {
                        while (_queue.TryPeek(out var w, out var due) && due <= now)
                        {
                            _queue.Dequeue();
                            _due.Add(w);
                            if (w.Interval > 0) w.NextDue = Slot(Math.Max(due + w.Interval, now), w.Grid);
                        }
                        _sleepingUntil = long.MaxValue;
                        break;
                    }
                    _sleepingUntil = _queue.Count == 0 ? long.MaxValue : next;
                    var waitMs = _queue.Count == 0 ? Timeout.Infinite : WaitMilliseconds(next - now);
                    Monitor.Wait(_gate, waitMs);
                }
            }
            foreach (var w in _due)
            {
                if (w.Cancelable is { IsCancellationRequested: true }) continue;
                try
                {
                    if (w.Runnable is not null) w.Runnable.Run();
                    else w.Receiver!.Tell(w.Message!, w.Sender);
                }
                catch (Exception e)
                {
                    Log.Error(e, "Exception while executing a scheduled task");
                }
                if (w.Interval > 0 && w.Cancelable is not { IsCancellationRequested: true }) Enqueue(w, w.NextDue);
            }
            _due.Clear();
        }
    }

    /// <summary>Akka's own monotonic clock (internal to Akka), so that this scheduler reads the same clock as the hashed wheel.</summary>
    private static class AkkaClock
    {
        private static readonly Type Clock = typeof(ActorSystem).Assembly.GetType("Akka.Util.MonotonicClock", throwOnError: true)!;
        public static readonly Func<TimeSpan> Elapsed = Getter("Elapsed");
        public static readonly Func<TimeSpan> ElapsedHighRes = Getter("ElapsedHighRes");

        private static Func<TimeSpan> Getter(string name) =>
            Clock.GetProperty(name, System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                .GetMethod!.CreateDelegate<Func<TimeSpan>>();
    }

    private sealed class Work(ICanTell? receiver, object? message, IActorRef? sender, IRunnable? runnable, ICancelable? cancelable, long interval, long grid)
    {
        public ICanTell? Receiver { get; } = receiver;
        public object? Message { get; } = message;
        public IActorRef? Sender { get; } = sender;
        public IRunnable? Runnable { get; } = runnable;
        public ICancelable? Cancelable { get; } = cancelable;
        public long Interval { get; } = interval; // Stopwatch ticks; 0 = once
        public long Grid { get; } = grid; // Stopwatch ticks: due times are rounded up to a multiple of this
        public long NextDue { get; set; }
    }
}
