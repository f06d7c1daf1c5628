using Router.Actors.Media;
using Router.Actors.Messages;
using Xunit;

namespace Router.Tests.Media;

public sealed class ReencodeGateTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public void Default_concurrency_is_half_the_cores_and_at_least_one()
    {
        Assert.Equal(Math.Max(1, Environment.ProcessorCount / 2), new ReencodeGate(0, 4).Concurrency);
        Assert.Equal(3, new ReencodeGate(3, 0).Concurrency);
    }

    [Fact]
    public async Task With_one_slot_and_no_queue_a_second_frame_is_busy_at_once()
    {
        var gate = new ReencodeGate(1, 0);
        using var release = new ManualResetEventSlim();
        using var started = new ManualResetEventSlim();
        var first = gate.RunAsync(() => { started.Set(); release.Wait(Wait); return 1; }, long.MaxValue);
        Assert.True(started.Wait(Wait));

        var second = await Assert.ThrowsAsync<FrameRejectedException>(() => gate.RunAsync(() => 2, long.MaxValue));
        Assert.Equal(FrameRejectReason.Busy, second.Reason);

        release.Set();
        Assert.Equal(1, await first);
        Assert.Equal(3, await gate.RunAsync(() => 3, long.MaxValue));
    }

    [Fact]
    public async Task A_queued_frame_runs_after_the_slot_frees_and_one_beyond_the_queue_is_busy()
    {
        var gate = new ReencodeGate(1, 1);
        using var release = new ManualResetEventSlim();
        using var started = new ManualResetEventSlim();
        var first = gate.RunAsync(() => { started.Set(); release.Wait(Wait); return 1; }, long.MaxValue);
        Assert.True(started.Wait(Wait));
        var queued = gate.RunAsync(() => 2, long.MaxValue);
        Assert.Equal(1, gate.Queued);
        var third = await Assert.ThrowsAsync<FrameRejectedException>(() => gate.RunAsync(() => 3, long.MaxValue));
        Assert.Equal(FrameRejectReason.Busy, third.Reason);

        release.Set();
        Assert.Equal(1, await first);
        Assert.Equal(2, await queued);
    }

    [Fact]
    public async Task Work_whose_deadline_passes_while_queued_is_skipped_without_running()
    {
        var gate = new ReencodeGate(1, 1);
        using var release = new ManualResetEventSlim();
        using var started = new ManualResetEventSlim();
        var first = gate.RunAsync(() => { started.Set(); release.Wait(Wait); return 1; }, long.MaxValue);
        Assert.True(started.Wait(Wait));

        var ran = false;
        var expired = await Assert.ThrowsAsync<FrameRejectedException>(() =>
            gate.RunAsync(() => { ran = true; return 2; }, Environment.TickCount64 + 200));
        Assert.Equal(FrameRejectReason.Busy, expired.Reason);
        Assert.Contains("deadline", expired.Message);
        Assert.Equal(0, gate.Queued);

        release.Set();
        await first;
        Assert.False(ran);
        var late = await Assert.ThrowsAsync<FrameRejectedException>(() => gate.RunAsync(() => { ran = true; return 3; }, Environment.TickCount64 - 1));
        Assert.Contains("deadline", late.Message);
        Assert.False(ran);
    }
}
