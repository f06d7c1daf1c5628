using System.Net;
using System.Net.Http.Headers;
using Microsoft.Playwright;
using Router.Tests.EndToEnd;
using Router.Tests.Support;
using Xunit;

namespace Router.Tests.Browser;

/// <summary>
/// The viewer page in Debian's headless Chromium: with two cameras its tiles ask for the 320-px variant (the canvases
/// are 320 wide), and with one left the tile switches back to the full-size frames.
/// </summary>
[Collection(RouterHostCollection.Name)]
public sealed class ViewerVariantBrowserTests(RouterHost host)
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private const string Source = "variant-browser";

    [Fact]
    public async Task Tiles_use_the_320_px_variant_with_two_cameras_and_full_size_with_one()
    {
        Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: run scripts/setup.sh --with-browser (installs Debian's chromium)");
        using var stop = new CancellationTokenSource();
        using var http = host.Http(RouterHost.DemoKey);
        var pushing = PushLoopAsync(http, stop.Token); // a second camera of the demo tenant, next to lobby/main
        try
        {
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            });
            var page = await browser.NewPageAsync();
            await page.GotoAsync(new Uri(host.HttpBase, $"/#key={RouterHost.DemoKey}").ToString());

            const string canvasSizes = """
                () => [...document.querySelectorAll("article[data-camera] canvas[data-role=frame]")]
                        .map(c => `${c.closest('article').dataset.camera}=${c.width}x${c.height}`).sort().join(' ')
                """;
            // Both tiles draw the 320-px variant (768x576 → 320x240).
            await page.WaitForFunctionAsync($"() => ({canvasSizes})() === 'lobby/main=320x240 {Source}/cam=320x240'", null,
                new PageWaitForFunctionOptions { Timeout = 20_000, PollingInterval = 100 });

            // Hide the second camera: the remaining tile switches to the full-size frames.
            await page.Locator($"#camera-list button[data-camera='{Source}/cam']").ClickAsync();
            await page.WaitForFunctionAsync($"() => ({canvasSizes})() === 'lobby/main=768x576'", null,
                new PageWaitForFunctionOptions { Timeout = 20_000, PollingInterval = 100 });
        }
        finally
        {
            stop.Cancel();
            await pushing;
        }
        // Leave the demo tenant with lobby/main alone for the other viewer test.
        var deadline = WaitDeadline.In(TimeSpan.FromSeconds(20));
        while ((await http.GetStringAsync("/v1/sources")).Contains(Source))
        {
            Assert.False(deadline.Passed, $"{Source} still listed 20 s after its last frame");
            await Task.Delay(200);
        }
    }

    private static async Task PushLoopAsync(HttpClient http, CancellationToken stop)
    {
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            using var body = new ByteArrayContent(TestFrames.Vtest[i % TestFrames.Vtest.Count]);
            body.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
            using var response = await http.PostAsync($"/v1/sources/{Source}/video/frames?camera_id=cam", body, CancellationToken.None);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            try { await Task.Delay(100, stop); } catch (OperationCanceledException) { }
        }
    }
}
