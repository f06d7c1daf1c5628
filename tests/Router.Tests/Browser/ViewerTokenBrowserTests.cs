using Microsoft.Playwright;
using Router.Tests.EndToEnd;
using Xunit;
using Xunit.Abstractions;
using static Router.Tests.Security.ViewerTokenClients;

namespace Router.Tests.Browser;

/// <summary>
/// The viewer page with a viewer token in headless Chromium: a backend mints a token for the demo camera's source
/// (POST /v1/tokens with the API key) and the browser opens <c>/#token=…</c>, never holding the API key.
/// </summary>
[Collection(RouterHostCollection.Name)]
public sealed class ViewerTokenBrowserTests(RouterHost host, ITestOutputHelper output)
{
    [Fact]
    public async Task Viewer_with_a_token_in_the_fragment_draws_the_allowed_camera()
    {
        var token = await TokenAsync(host, RouterHost.DemoKey, new { source_ids = new[] { "lobby" }, ttl_seconds = 600 });
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await HeadlessChromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        var consoleErrors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") consoleErrors.Add(m.Text); };
        var requested = new List<string>();
        page.Request += (_, r) => requested.Add(r.Url);

        await page.GotoAsync(new Uri(host.HttpBase, $"/#token={token}").ToString());
        var tile = page.Locator("article[data-camera='lobby/main']");
        await tile.WaitForAsync(new LocatorWaitForOptions { Timeout = 20_000 });
        // A frame is drawn: the tile's frame counter moves and the canvas has the camera's size.
        await page.WaitForFunctionAsync("""
            () => Number(document.querySelector("article[data-camera='lobby/main'] [data-role=frames]")?.textContent ?? '0') > 0
            """, null, new PageWaitForFunctionOptions { Timeout = 20_000, PollingInterval = 100 });
        await Assertions.Expect(tile.Locator("[data-role=status]")).ToHaveTextAsync("live");
        var size = await page.EvaluateAsync<int[]>("() => { const c = document.querySelector(\"article[data-camera='lobby/main'] canvas\"); return [c.width, c.height]; }");
        Assert.Equal([768, 576], size);

        // The token left the address bar at once, was never stored, and never went into a URL the page requested.
        Assert.Equal(string.Empty, await page.EvaluateAsync<string>("() => location.hash"));
        Assert.Null(await page.EvaluateAsync<string?>("() => localStorage.getItem('router.viewer.apiKey')"));
        Assert.DoesNotContain(requested, url => url.Contains(token, StringComparison.Ordinal));
        output.WriteLine($"{requested.Count} requests, none with the token");
        Assert.Empty(consoleErrors);
    }
}
