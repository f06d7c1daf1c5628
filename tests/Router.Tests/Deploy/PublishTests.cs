using System.Diagnostics;
using System.Text.Json;
using Router.Tests.Media;
using Xunit;

namespace Router.Tests.Deploy;

/// <summary>
/// <c>dotnet publish</c> of both executables (as the Dockerfiles run it) succeeds, and each output has its own project's
/// appsettings.json. Router.Node references Router.Gateway, and both have one, which used to fail with NETSDK1152.
/// Runs with <c>--no-build</c> on the outputs this test run was built with.
/// </summary>
public sealed class PublishTests
{
    /// <summary>Release or Debug: the configuration this test assembly was built in (bin/&lt;configuration&gt;/net10.0).</summary>
    private static string Configuration => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    [Theory]
    [InlineData("Router.Node")]
    [InlineData("Router.Gateway")]
    public async Task Publish_succeeds_with_the_projects_own_appsettings(string project)
    {
        var root = TestMedia.RepoRoot();
        var output = Directory.CreateTempSubdirectory("router-publish-");
        try
        {
            var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = root,
            };
            foreach (var a in new[] { "publish", $"src/{project}/{project}.csproj", "-c", Configuration, "--no-build", "-o", output.FullName,
                         "-getItem:ResolvedFileToPublish", "-nologo" })
                info.ArgumentList.Add(a);
            // The test host runs under `dotnet test`; its MSBuild variables must not leak into this separate build.
            foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
                info.Environment.Remove(key);

            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            try { await process.WaitForExitAsync(cts.Token); }
            finally { if (!process.HasExited) process.Kill(entireProcessTree: true); }
            Assert.True(process.ExitCode == 0, $"dotnet publish {project} failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");

            var items = JsonDocument.Parse(await stdout).RootElement.GetProperty("Items").GetProperty("ResolvedFileToPublish").EnumerateArray()
                .Where(i => i.GetProperty("RelativePath").GetString()!.StartsWith("appsettings", StringComparison.OrdinalIgnoreCase))
                .Select(i => Path.GetFullPath(i.GetProperty("FullPath").GetString()!))
                .ToList();
            var own = Path.Combine(root, "src", project, "appsettings.json");
            Assert.Equal([own], items);
            Assert.Equal(await File.ReadAllBytesAsync(own), await File.ReadAllBytesAsync(Path.Combine(output.FullName, "appsettings.json")));
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("node.Dockerfile")]
    [InlineData("gateway.Dockerfile")]
    public void Dockerfiles_keep_the_duplicate_output_check_on(string dockerfile)
    {
        var text = File.ReadAllText(Path.Combine(TestMedia.RepoRoot(), "deploy", "docker", dockerfile));
        Assert.DoesNotContain("ErrorOnDuplicatePublishOutputFiles", text);
    }
}
