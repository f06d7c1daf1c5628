using Router.Actors.Identity;
using Xunit;

namespace Router.Tests.Identity;

/// <summary>StreamKey equality and its kept hash: what the fan-out's per-frame lookups rely on.</summary>
public sealed class StreamKeyTests
{
    [Fact]
    public void Keys_of_equal_parts_from_different_strings_are_equal_with_equal_hashes()
    {
        var a = new StreamKey("acme", "robot-01", "front");
        var b = new StreamKey(new string("acme".AsSpan()), new string("robot-01".AsSpan()), new string("front".AsSpan()));
        Assert.NotSame(a.CameraId, b.CameraId);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Contains(b, new HashSet<StreamKey> { a });
    }

    [Theory]
    [InlineData("other", "robot-01", "front")]
    [InlineData("acme", "robot-02", "front")]
    [InlineData("acme", "robot-01", "rear")]
    public void Keys_differing_in_one_part_are_not_equal(string tenant, string sourceId, string cameraId)
    {
        var key = new StreamKey("acme", "robot-01", "front");
        Assert.NotEqual(key, new StreamKey(tenant, sourceId, cameraId));
        Assert.False(key.Equals(null));
    }

    [Fact]
    public void A_with_expression_after_the_hash_was_used_gives_the_hash_of_its_own_parts()
    {
        var key = new StreamKey("acme", "robot-01", "front");
        _ = key.GetHashCode(); // kept in the instance
        var rear = key with { CameraId = "rear" };
        var fresh = new StreamKey("acme", "robot-01", "rear");
        Assert.Equal(fresh, rear);
        Assert.Equal(fresh.GetHashCode(), rear.GetHashCode());
        Assert.NotEqual(key, rear);
        Assert.Equal("acme/robot-01/rear", rear.EntityId);
    }
}
