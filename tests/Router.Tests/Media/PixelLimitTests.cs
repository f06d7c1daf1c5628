using Router.Actors.Media;
using Router.Actors.Messages;
using Router.Protocol;
using Router.Tests.Hostile;
using Xunit;

namespace Router.Tests.Media;

public sealed class PixelLimitTests
{
    [Fact]
    public void Defaults_are_8K_UHD_pixels_half_the_cores_and_a_queue_of_four()
    {
        var options = new SizePolicyOptions();
        Assert.Equal(7680L * 4320, options.MaxPixels);
        Assert.Equal(0, options.ReencodeConcurrency);
        Assert.Equal(4, options.ReencodeQueueLimit);
    }

    [Theory]
    [InlineData(0, 0, 4)]
    [InlineData(-1, 0, 4)]
    [InlineData(100, -1, 4)]
    [InlineData(100, 0, -1)]
    public void Invalid_limits_are_refused(long maxPixels, int concurrency, int queue) =>
        Assert.Throws<ArgumentException>(() => new SizePolicy(new SizePolicyOptions
        {
            MaxPixels = maxPixels, ReencodeConcurrency = concurrency, ReencodeQueueLimit = queue,
        }));

    [Fact]
    public void Apply_refuses_a_bomb_before_decoding_it()
    {
        var bomb = Bombs.Bomb(32768, 32767, 800_000);
        Assert.True(JpegHeader.TryParse(bomb, out var info, out _));
        Assert.Equal(new JpegInfo(32768, 32767), info);
        var policy = new SizePolicy(new SizePolicyOptions());
        var before = GC.GetAllocatedBytesForCurrentThread();
        var rejected = Assert.Throws<FrameRejectedException>(() => policy.Apply(bomb, info));
        Assert.Equal(FrameRejectReason.TooManyPixels, rejected.Reason);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024);
        Assert.Null(policy.CheckPixels(new JpegInfo(7680, 4320)));
        Assert.NotNull(policy.CheckPixels(new JpegInfo(7680, 4321)));
        Assert.NotNull(policy.CheckPixels(new JpegInfo(65535, 65535)));
    }
}
