using Microsoft.Playwright;
using Xunit;

namespace Router.Tests.Browser;

/// <summary>Debian's headless Chromium (<c>/usr/bin/chromium</c>) driven by Microsoft.Playwright, no downloaded browser.</summary>
internal static class HeadlessChromium
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public static Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: run scripts/setup.sh --with-browser (installs Debian's chromium)");
        return playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run",
            ],
        });
    }
}
