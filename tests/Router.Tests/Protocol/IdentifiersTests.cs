using Router.Protocol;
using Xunit;

namespace Router.Tests.Protocol;

public sealed class IdentifiersTests
{
    [Theory]
    [InlineData("front")]
    [InlineData("camera:0")]
    [InlineData("Eingang Süd 🚪")]
    public void CameraId_WithPrintableUtf8_IsValid(string cameraId)
    {
        Assert.True(Identifiers.IsValidCameraId(cameraId, out var error));
        Assert.Null(error);
    }

    [Fact]
    public void CameraId_Of255Utf8Bytes_IsValid_And256IsRefused()
    {
        // 85 three-byte characters are 255 UTF-8 bytes in 85 chars: the byte limit, not the char count, decides.
        Assert.True(Identifiers.IsValidCameraId(new string('€', 85), out _));
        Assert.False(Identifiers.IsValidCameraId(new string('€', 85) + "a", out var error));
        Assert.Equal("camera_id is longer than 255 UTF-8 bytes", error);
        Assert.True(Identifiers.IsValidCameraId(new string('a', 255), out _));
        Assert.False(Identifiers.IsValidCameraId(new string('a', 256), out error));
        Assert.Equal("camera_id is longer than 255 UTF-8 bytes", error);
        Assert.False(Identifiers.IsValidCameraId(new string('a', 100_000), out error));
        Assert.Equal("camera_id is longer than 255 UTF-8 bytes", error);
    }

    [Fact]
    public void CameraId_WithALoneSurrogate_IsRefusedWithoutThrowing()
    {
        // Built here, not as theory data: attribute arguments and xUnit's serialized theory data are UTF-8, which
        // would turn a lone surrogate into U+FFFD before the test sees it.
        string[] ids =
        [
            "cam" + (char)0xD800, // a lone high surrogate (e.g. from a JSON "\ud800" escape)
            (char)0xDC00 + "cam", // a lone low surrogate
            "a" + (char)0xDC00 + (char)0xD800 + "b", // a reversed pair
        ];
        foreach (var id in ids)
        {
            Assert.False(Identifiers.IsValidCameraId(id, out var error), $"{id.Length} chars accepted");
            Assert.Equal("camera_id is not valid UTF-8", error);
        }
        Assert.True(Identifiers.IsValidCameraId("a" + (char)0xD83D + (char)0xDE80, out _)); // a valid pair (U+1F680)
    }

    [Theory]
    [InlineData(null, "camera_id is required")]
    [InlineData("", "camera_id is required")]
    [InlineData("cam\n1", "camera_id must not contain control characters")]
    public void CameraId_EmptyOrWithControlCharacters_IsRefused(string? cameraId, string expected)
    {
        Assert.False(Identifiers.IsValidCameraId(cameraId, out var error));
        Assert.Equal(expected, error);
    }
}
