using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Router.Tests.Media;
using Xunit;

namespace Router.Tests.Deploy;

/// <summary>
/// <c>dotnet publish</c> of the one executable, Router.Node (as the Dockerfile runs it), succeeds without work-arounds and
/// its output has Router.Node's appsettings.json only. (Router.Gateway used to be an executable with its own
/// appsettings.json referenced by Router.Node, which failed with NETSDK1152.) Runs with <c>--no-build</c> on the outputs
/// this test run was built with.
/// </summary>
public sealed class PublishTests
{
    /// <summary>Release or Debug: the configuration this test assembly was built in (bin/&lt;configuration&gt;/net10.0).</summary>
    private static string Configuration => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    [Fact]
    public async Task Publish_succeeds_with_the_projects_own_appsettings()
    {
        const string project = "Router.Node";
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

    [Fact]
    public void No_publish_work_arounds_in_the_Dockerfile_or_the_projects()
    {
        var root = TestMedia.RepoRoot();
        Assert.Equal(["router.Dockerfile"], Directory.GetFiles(Path.Combine(root, "deploy", "docker"), "*Dockerfile").Select(Path.GetFileName));
        Assert.DoesNotContain("ErrorOnDuplicatePublishOutputFiles", File.ReadAllText(Path.Combine(root, "deploy", "docker", "router.Dockerfile")));
        foreach (var project in Directory.GetFiles(Path.Combine(root, "src"), "*.csproj", SearchOption.AllDirectories))
        {
            var text = File.ReadAllText(project);
            Assert.DoesNotContain("ResolvedFileToPublish", text);
            Assert.DoesNotContain("ErrorOnDuplicatePublishOutputFiles", text);
            // No project references an executable (Router.Gateway is a library; Router.Node runs its role).
            foreach (Match reference in Regex.Matches(text, "<ProjectReference Include=\"([^\"]+)\""))
            {
                var referenced = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(project)!, reference.Groups[1].Value));
                Assert.False(File.ReadAllText(referenced).Contains("<OutputType>Exe</OutputType>", StringComparison.Ordinal),
                    $"{Path.GetFileName(project)} references the executable {Path.GetFileName(referenced)}");
            }
        }
        Assert.Empty(Directory.GetFiles(Path.Combine(root, "src", "Router.Gateway"), "appsettings*.json"));
    }
}
