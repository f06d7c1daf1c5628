using System.Diagnostics;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Router.Actors.Hosting;
using Xunit;

namespace Router.Tests.Hosting;

/// <summary>
/// Router's Akka scheduler (one thread sleeping until the next due timer, on a 50 ms grid) in a real ActorSystem:
/// tells and actions arrive not before their delay, repeat until cancelled, cancelled ones never arrive, a failing
/// action does not stop the others, and actor timers (the way Router's actors schedule) work on it.
/// </summary>
public sealed class IdleAwareSchedulerTests() : TestKit($$"""
    akka.loglevel = WARNING
    akka.scheduler.tick-duration = 50ms
    akka.scheduler.implementation = "{{typeof(IdleAwareScheduler).AssemblyQualifiedName}}"
    """)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10); // shared 2-core machine: bound, never a speed assertion

    [Fact]
    public void The_system_runs_on_it()
    {
        Assert.IsType<IdleAwareScheduler>(Sys.Scheduler);
    }

    [Fact]
    public void A_timer_months_away_is_a_long_wait_not_a_spin()
    {
        var f = System.Diagnostics.Stopwatch.Frequency;
        Assert.Equal(int.MaxValue, IdleAwareScheduler.WaitMilliseconds(long.MaxValue / 4)); // the farthest due time
        Assert.Equal(int.MaxValue, IdleAwareScheduler.WaitMilliseconds(f * 200 * 86_400)); // 200 days
        Assert.Equal(1001, IdleAwareScheduler.WaitMilliseconds(f)); // 1 s, rounded up
        Assert.Equal(1, IdleAwareScheduler.WaitMilliseconds(0));
    }

    [Fact]
    public void A_tell_arrives_after_its_delay_and_timers_arrive_in_due_order()
    {
        var probe = CreateTestProbe();
        var watch = Stopwatch.StartNew();
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(600), probe.Ref, "late", ActorRefs.NoSender);
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(200), probe.Ref, "early", ActorRefs.NoSender);
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.Zero, probe.Ref, "now", ActorRefs.NoSender);
        probe.ExpectMsg("now", Generous);
        probe.ExpectMsg("early", Generous);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(190), $"'early' after {watch.Elapsed.TotalMilliseconds} ms");
        probe.ExpectMsg("late", Generous);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(590), $"'late' after {watch.Elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public void A_timer_scheduled_while_the_thread_sleeps_for_a_later_one_wakes_it()
    {
        var probe = CreateTestProbe();
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromMinutes(10), probe.Ref, "much later", ActorRefs.NoSender);
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromDays(36500), probe.Ref, "never", ActorRefs.NoSender); // no overflow into "now"
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(100), probe.Ref, "soon", ActorRefs.NoSender);
        probe.ExpectMsg("soon", Generous);
    }

    [Fact]
    public void A_repeated_tell_repeats_until_cancelled_and_a_cancelled_one_never_arrives()
    {
        var probe = CreateTestProbe();
        var repeated = Sys.Scheduler.ScheduleTellRepeatedlyCancelable(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(100), probe.Ref, "tick",
            ActorRefs.NoSender);
        var cancelled = Sys.Scheduler.ScheduleTellOnceCancelable(TimeSpan.FromMilliseconds(300), probe.Ref, "cancelled", ActorRefs.NoSender);
        cancelled.Cancel();
        for (var i = 0; i < 5; i++) probe.ExpectMsg("tick", Generous);
        repeated.Cancel();
        probe.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => m); // a tick already in flight
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public void A_repeated_timer_on_the_coarse_grid_keeps_its_period()
    {
        var probe = CreateTestProbe();
        var watch = Stopwatch.StartNew();
        var repeated = Sys.Scheduler.ScheduleTellRepeatedlyCancelable(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500), probe.Ref, "tick",
            ActorRefs.NoSender);
        probe.ExpectMsg("tick", Generous);
        var first = watch.Elapsed;
        Assert.True(first >= TimeSpan.FromMilliseconds(90), $"first tick after {first.TotalMilliseconds} ms, before its initial delay");
        probe.ExpectMsg("tick", Generous);
        probe.ExpectMsg("tick", Generous);
        // The third tick is due one initial delay and two periods after the start at the earliest. Timed from the start, not
        // from the first tick's receipt: a first tick delivered late under load makes the next two look early.
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(1090), $"the third tick came {watch.Elapsed.TotalMilliseconds} ms after the start, before 100 ms + 2 × 500 ms");
        repeated.Cancel();
    }

    [Fact]
    public void Actions_run_and_a_failing_one_does_not_stop_the_others()
    {
        var probe = CreateTestProbe();
        Sys.Scheduler.Advanced.ScheduleOnce(TimeSpan.FromMilliseconds(50), () => throw new InvalidOperationException("scheduled failure"));
        Sys.Scheduler.Advanced.ScheduleOnce(TimeSpan.FromMilliseconds(100), () => probe.Ref.Tell("action"));
        var count = 0;
        var repeated = new Cancelable(Sys.Scheduler);
        Sys.Scheduler.Advanced.ScheduleRepeatedly(TimeSpan.Zero, TimeSpan.FromMilliseconds(50), () =>
        {
            if (Interlocked.Increment(ref count) == 3) probe.Ref.Tell("third");
        }, repeated);
        probe.ExpectMsgAllOf(new[] { "action", "third" });
        repeated.Cancel();
    }

    [Fact]
    public void Actor_timers_work_on_it()
    {
        var probe = CreateTestProbe();
        Sys.ActorOf(Props.Create(() => new TimerActor(probe.Ref)));
        probe.ExpectMsg("single", Generous);
        for (var i = 0; i < 3; i++) probe.ExpectMsg("periodic", Generous);
    }

    [Fact]
    public void Many_timers_cancelled_before_they_are_due_do_not_pile_up_or_fire()
    {
        var probe = CreateTestProbe();
        for (var i = 0; i < 5000; i++)
            Sys.Scheduler.ScheduleTellOnceCancelable(TimeSpan.FromMinutes(5), probe.Ref, "cancelled", ActorRefs.NoSender).Cancel();
        Assert.InRange(((IdleAwareScheduler)Sys.Scheduler).Pending, 0, 2048);
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(50), probe.Ref, "live", ActorRefs.NoSender);
        probe.ExpectMsg("live", Generous);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    private sealed class TimerActor : ReceiveActor, IWithTimers
    {
        public TimerActor(IActorRef probe)
        {
            ReceiveAny(m => probe.Tell(m));
        }

        public ITimerScheduler Timers { get; set; } = null!;

        protected override void PreStart()
        {
            Timers.StartSingleTimer("single", "single", TimeSpan.FromMilliseconds(100));
            Timers.StartPeriodicTimer("periodic", "periodic", TimeSpan.FromMilliseconds(150));
        }
    }
}
