using System.Globalization;
using Microsoft.Playwright;
using Router.Tests.EndToEnd;
using Xunit;
using Xunit.Abstractions;

namespace Router.Tests.Browser;

/// <summary>
/// The viewer page in Debian's headless Chromium (driven by Microsoft.Playwright, no downloaded browser) against a
/// real Router: the demo camera lobby/main must be drawn on a canvas (non-blank pixels) with fps &gt; 0.
/// </summary>
[Collection(RouterHostCollection.Name)]
public sealed class ViewerBrowserTests(RouterHost host, ITestOutputHelper output)
{
    [Fact]
    public async Task Viewer_draws_the_demo_camera_with_fps_above_zero()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await HeadlessChromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        var consoleErrors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") consoleErrors.Add(m.Text); };

        await page.GotoAsync(new Uri(host.HttpBase, $"/#key={RouterHost.DemoKey}").ToString());
        var tile = page.Locator("article[data-camera='lobby/main']");
        await tile.WaitForAsync(new LocatorWaitForOptions { Timeout = 20_000 });

        // fps is measured by the page (frames drawn in the last second) and shown in the tile. It is read and judged in
        // one step: the first tick may show 1.0 (the camera's cached latest frame) and the next 0.0 while the capture
        // of the demo file starts up again, so reading it twice would race.
        var fpsShown = await page.WaitForFunctionAsync("""
            () => {
              const text = document.querySelector("article[data-camera='lobby/main'] [data-role=fps]")?.textContent ?? '';
              return Number(text) > 0 ? text : null;
            }
            """, null, new PageWaitForFunctionOptions { Timeout = 20_000, PollingInterval = 100 });
        var fpsValue = double.Parse(await fpsShown.JsonValueAsync<string>(), CultureInfo.InvariantCulture);
        Assert.True(fpsValue > 0, $"fps shown: {fpsValue}");
        await Assertions.Expect(tile.Locator("[data-role=status]")).ToHaveTextAsync("live");

        var nonBlank = await page.EvaluateAsync<int>("""
            () => {
              const c = document.querySelector("article[data-camera='lobby/main'] canvas[data-role=frame]");
              const ctx = c.getContext('2d');
              const data = ctx.getImageData(0, 0, c.width, c.height).data;
              let lit = 0;
              for (let i = 0; i < data.length; i += 4 * 97) if (data[i] + data[i + 1] + data[i + 2] > 30) lit++;
              return lit;
            }
            """);
        Assert.True(nonBlank > 100, $"only {nonBlank} sampled pixels are not black");
        var size = await page.EvaluateAsync<int[]>("() => { const c = document.querySelector(\"article[data-camera='lobby/main'] canvas\"); return [c.width, c.height]; }");
        Assert.Equal([768, 576], size);

        var shot = Path.Combine(Path.GetTempPath(), "router-viewer.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot });
        output.WriteLine($"viewer fps {fpsValue}, {nonBlank} lit samples, screenshot {shot}");
        Assert.Empty(consoleErrors);
    }
}
