using System.Net;
using System.Net.Http.Headers;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.EndToEnd;

/// <summary>The snapshot route reaches every valid camera_id, including ones with '/' (sent as is or escaped as %2F).</summary>
[Collection(RouterHostCollection.Name)]
public sealed class SnapshotRouteTests(RouterHost host)
{
    private const string Source = "e2e-snapshot-route";

    /// <summary>Ingests one frame into <paramref name="cameraId"/> over HTTP and returns its bytes.</summary>
    private async Task<byte[]> IngestAsync(HttpClient http, string cameraId, int frame)
    {
        var jpeg = TestFrames.Vtest[frame];
        using var body = new ByteArrayContent(jpeg);
        body.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        using var response = await http.PostAsync($"/v1/sources/{Source}/video/frames?camera_id={Uri.EscapeDataString(cameraId)}", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return jpeg;
    }

    [Fact]
    public async Task Camera_ids_with_slashes_are_reachable_literally_and_escaped()
    {
        using var http = host.Http(RouterHost.AcmeKey);
        var frontLeft = await IngestAsync(http, "front/left", 1);
        var deep = await IngestAsync(http, "rig:2/front/snapshot.jpg", 2);
        var percent = await IngestAsync(http, "odd%2Fname", 3); // a literal "%2F" in the id, not a slash
        var slashName = await IngestAsync(http, "odd/name", 4);

        async Task AssertSnapshot(string path, byte[] expected)
        {
            using var response = await http.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Equal("image/jpeg", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(expected, await response.Content.ReadAsByteArrayAsync());
        }

        await AssertSnapshot($"/v1/sources/{Source}/cameras/front/left/snapshot.jpg", frontLeft);
        await AssertSnapshot($"/v1/sources/{Source}/cameras/front%2Fleft/snapshot.jpg", frontLeft);
        await AssertSnapshot($"/v1/sources/{Source}/cameras/front%2fleft/snapshot.jpg", frontLeft);
        await AssertSnapshot($"/v1/sources/{Source}/cameras/rig%3A2/front/snapshot.jpg/snapshot.jpg", deep);
        await AssertSnapshot($"/v1/sources/{Source}/cameras/odd%252Fname/snapshot.jpg", percent);
        await AssertSnapshot($"/v1/sources/{Source}/cameras/odd%2Fname/snapshot.jpg", slashName);
    }

    [Fact]
    public async Task Simple_camera_ids_still_work_and_other_paths_under_cameras_are_404()
    {
        using var http = host.Http(RouterHost.AcmeKey);
        var plain = await IngestAsync(http, "camera:0", 5);
        Assert.Equal(plain, await http.GetByteArrayAsync($"/v1/sources/{Source}/cameras/camera:0/snapshot.jpg"));
        Assert.Equal(plain, await http.GetByteArrayAsync($"/v1/sources/{Source}/cameras/camera%3A0/snapshot.jpg"));

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/v1/sources/{Source}/cameras/camera%3A0")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/v1/sources/{Source}/cameras/snapshot.jpg")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/v1/sources/{Source}/cameras/never-seen/snapshot.jpg")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Http().GetAsync($"/v1/sources/{Source}/cameras/front/left/snapshot.jpg")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync($"/v1/sources/{Source}/cameras/bad%01id/snapshot.jpg")).StatusCode);
    }
}
