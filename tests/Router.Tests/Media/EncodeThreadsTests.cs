using Router.Actors.Media;
using Xunit;

namespace Router.Tests.Media;

/// <summary>
/// The process's threads for blocking OpenCV work: jobs run there, not on the .NET thread pool that actors and sockets
/// share, so a long decode never takes a pool thread; results and exceptions come back to the caller on the pool.
/// </summary>
public sealed class EncodeThreadsTests
{
    [Fact]
    public async Task Work_runs_on_an_encode_thread_not_on_the_thread_pool()
    {
        var (poolThread, name) = await EncodeThreads.Run(() => (Thread.CurrentThread.IsThreadPoolThread, Thread.CurrentThread.Name));
        Assert.False(poolThread);
        Assert.StartsWith("router-encode-", name);
    }

    [Fact]
    public async Task An_exception_of_the_work_reaches_the_caller_and_the_thread_goes_on()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => EncodeThreads.Run<int>(() => throw new InvalidOperationException("corrupt JPEG")));
        Assert.Equal("corrupt JPEG", e.Message);
        Assert.Equal(3, await EncodeThreads.Run(() => 1 + 2));
    }

    [Fact]
    public async Task The_callers_code_after_the_work_does_not_run_on_an_encode_thread()
    {
        await EncodeThreads.Run(() => 0);
        Assert.DoesNotContain("router-encode", Thread.CurrentThread.Name ?? "");
    }

    [Fact]
    public async Task With_every_encode_thread_busy_the_thread_pool_still_runs_and_further_work_waits_its_turn()
    {
        using var release = new ManualResetEventSlim();
        using var started = new CountdownEvent(EncodeThreads.Count);
        var blockers = Enumerable.Range(0, EncodeThreads.Count)
            .Select(_ => EncodeThreads.Run(() =>
            {
                started.Signal();
                return release.Wait(TimeSpan.FromSeconds(20));
            }))
            .ToList();
        try
        {
            Assert.True(started.Wait(TimeSpan.FromSeconds(20)), "the encode threads did not all start a job");
            // Every encode thread is taken: the thread pool is not, and a further job waits for a thread.
            Assert.Equal(42, await Task.Run(() => 42).WaitAsync(TimeSpan.FromSeconds(5)));
            var queued = EncodeThreads.Run(() => 7);
            Assert.False(queued.IsCompleted);
            release.Set();
            Assert.Equal(7, await queued.WaitAsync(TimeSpan.FromSeconds(20)));
        }
        finally
        {
            release.Set();
        }
        Assert.All(await Task.WhenAll(blockers), Assert.True);
    }
}
