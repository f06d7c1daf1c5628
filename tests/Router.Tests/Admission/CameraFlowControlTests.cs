using System.Collections.Concurrent;
using Router.Gateway.Admission;
using Xunit;
using Router.Tests.Support;

namespace Router.Tests.Admission;

/// <summary>Per-camera, newest-wins flow control of a device connection (<see cref="CameraFlowControl{TFrame}"/>).</summary>
public sealed class CameraFlowControlTests
{
    /// <summary>A send function whose verdicts the test completes by hand.</summary>
    private sealed class Camera
    {
        public readonly ConcurrentQueue<(string Camera, int Frame, TaskCompletionSource Verdict)> Sent = new();

        public Task Send(string camera, int frame)
        {
            var verdict = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Sent.Enqueue((camera, frame, verdict));
            return verdict.Task;
        }

        public List<int> FramesOf(string camera) => Sent.Where(s => s.Camera == camera).Select(s => s.Frame).ToList();

        public void Answer(string camera, int frame) => Sent.Single(s => s.Camera == camera && s.Frame == frame).Verdict.SetResult();
    }

    private static async Task EventuallyAsync(Func<bool> condition)
    {
        var deadline = WaitDeadline.In(TimeSpan.FromSeconds(5));
        while (!condition())
        {
            if (deadline.Passed) throw new TimeoutException("condition not met in 5 s");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Each_camera_has_one_frame_in_flight_and_the_newest_waiting_frame_follows_its_verdict()
    {
        var camera = new Camera();
        var flow = new CameraFlowControl<int>(64, staleAfterMs: 60_000, camera.Send);

        Assert.Equal(FlowOutcome.Sent, flow.Offer("a", 1));
        Assert.Equal(FlowOutcome.Waiting, flow.Offer("a", 2));
        Assert.Equal(FlowOutcome.Replaced, flow.Offer("a", 3)); // 2 is dropped, 3 waits
        Assert.Equal([1], camera.FramesOf("a"));

        camera.Answer("a", 1);
        await EventuallyAsync(() => camera.FramesOf("a").Count == 2);
        Assert.Equal([1, 3], camera.FramesOf("a"));

        camera.Answer("a", 3);
        await EventuallyAsync(() => camera.Sent.All(s => s.Verdict.Task.IsCompleted));
        Assert.Equal(FlowOutcome.Sent, flow.Offer("a", 4)); // nothing in flight: sent at once
    }

    [Fact]
    public async Task A_camera_waiting_for_its_verdict_never_holds_back_the_other_cameras()
    {
        var camera = new Camera();
        var flow = new CameraFlowControl<int>(64, staleAfterMs: 60_000, camera.Send);
        // 16 synchronised cameras, 5 rounds; camera c0's verdicts never arrive, the others' arrive as soon as sent.
        using var answering = new CancellationTokenSource();
        var answer = Task.Run(async () =>
        {
            while (!answering.IsCancellationRequested)
            {
                foreach (var s in camera.Sent.Where(s => s.Camera != "c0" && !s.Verdict.Task.IsCompleted)) s.Verdict.TrySetResult();
                await Task.Delay(1);
            }
        });
        for (var round = 0; round < 5; round++)
            for (var c = 0; c < 16; c++)
                flow.Offer($"c{c}", round);
        // Every other camera gets its newest frame; c0 has its first in flight and its newest waiting, nothing else.
        await EventuallyAsync(() => Enumerable.Range(1, 15).All(c => camera.FramesOf($"c{c}").Contains(4)));
        answering.Cancel();
        await answer;
        Assert.Equal([0], camera.FramesOf("c0"));
        for (var c = 1; c < 16; c++)
        {
            var frames = camera.FramesOf($"c{c}");
            Assert.Equal(frames.Order().ToList(), frames); // in the order offered
            Assert.Equal(0, frames[0]);
        }
    }

    [Fact]
    public void Cameras_beyond_the_limit_are_refused_and_known_ones_still_flow()
    {
        var camera = new Camera();
        var flow = new CameraFlowControl<int>(4, staleAfterMs: 60_000, camera.Send);
        for (var c = 0; c < 4; c++) Assert.Equal(FlowOutcome.Sent, flow.Offer($"c{c}", 1));
        Assert.Equal(FlowOutcome.TooManyCameras, flow.Offer("c4", 1));
        Assert.Equal(FlowOutcome.Waiting, flow.Offer("c0", 2));
        Assert.Equal(4, flow.Cameras);
    }

    [Fact]
    public void A_frame_in_flight_longer_than_the_stale_time_no_longer_holds_its_camera_back()
    {
        var camera = new Camera();
        long now = 0;
        var flow = new CameraFlowControl<int>(64, staleAfterMs: 1000, camera.Send, () => now);
        Assert.Equal(FlowOutcome.Sent, flow.Offer("a", 1));
        now = 500;
        Assert.Equal(FlowOutcome.Waiting, flow.Offer("a", 2));
        now = 1500;
        Assert.Equal(FlowOutcome.Replaced, flow.Offer("a", 3)); // 1 is stale: 3 goes at once, 2 (older) is dropped
        Assert.Equal([1, 3], camera.FramesOf("a"));
        camera.Answer("a", 1); // the stale verdict arrives late: it does not release anything
        Assert.Equal(FlowOutcome.Waiting, flow.Offer("a", 4));
    }

    [Fact]
    public void After_close_nothing_more_is_sent()
    {
        var camera = new Camera();
        var flow = new CameraFlowControl<int>(64, staleAfterMs: 60_000, camera.Send);
        flow.Offer("a", 1);
        flow.Offer("a", 2);
        flow.Close();
        flow.Offer("b", 1);
        Assert.Equal([1], camera.FramesOf("a"));
        Assert.Empty(camera.FramesOf("b"));
    }
}
