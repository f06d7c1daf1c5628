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

    [Fact]
    public async Task When_the_token_expires_the_open_stream_keeps_drawing()
    {
        await using var own = await Admission.OwnHost.StartAsync("--Router:Tokens:ClockSkew=00:00:00");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await HeadlessChromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        var token = await TokenAsync(own.Host, RouterHost.DemoKey, new { ttl_seconds = 8 }); // minted when the browser is ready
        await page.GotoAsync(new Uri(own.Host.HttpBase, $"/#token={token}").ToString());
        const string frames = "() => Number(document.querySelector(\"article[data-camera='lobby/main'] [data-role=frames]\")?.textContent ?? '0')";
        await page.WaitForFunctionAsync($"() => ({frames})() > 0", null, new PageWaitForFunctionOptions { Timeout = 20_000, PollingInterval = 100 });

        // The page's next poll of /v1/sources is refused (401 token expired): it says so and keeps the open stream.
        var status = page.Locator("#global-status");
        page.Console += (_, m) => output.WriteLine($"console {m.Type}: {m.Text}");
        output.WriteLine($"first frame drawn; status: {await status.TextContentAsync()}; {await page.EvaluateAsync<string>("() => JSON.stringify(window.routerViewer.snapshot())")}");
        await Assertions.Expect(status).ToHaveAttributeAsync("data-state", "expired", new LocatorAssertionsToHaveAttributeOptions { Timeout = 20_000 });
        var drawn = await page.EvaluateAsync<int>(frames);
        await page.WaitForFunctionAsync($"() => ({frames})() > {drawn + 5}", null, new PageWaitForFunctionOptions { Timeout = 20_000, PollingInterval = 100 });
        await Assertions.Expect(page.Locator("article[data-camera='lobby/main'] [data-role=status]")).ToHaveTextAsync("live");
        output.WriteLine($"{await status.TextContentAsync()}; frames drawn after expiry: {await page.EvaluateAsync<int>(frames) - drawn}");
    }
}
