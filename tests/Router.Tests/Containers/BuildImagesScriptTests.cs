using System.Text.RegularExpressions;
using Router.Tests.Deploy;
using Router.Tests.Media;
using Xunit;

namespace Router.Tests.Containers;

/// <summary>
/// scripts/containers/build-images.sh builds the Dockerfile a registry user builds, only with other base images: checked
/// without podman (these run in CI; the container test itself is Category=Containers).
/// </summary>
public sealed class BuildImagesScriptTests
{
    private static string Read(params string[] path) => File.ReadAllText(Path.Combine([TestMedia.RepoRoot(), .. path]));

    [Fact]
    public void Dockerfile_TakesItsBaseImagesAsBuildArguments_WithTheRegistryDefaults_AndTheScriptOverridesEachOfThem()
    {
        var dockerfile = Read("deploy", "docker", "router.Dockerfile");
        var defaults = Regex.Matches(dockerfile, @"^ARG (\w+)=(\S+)$", RegexOptions.Multiline).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        var fromArgs = Regex.Matches(dockerfile, @"^FROM \$\{(\w+)\}", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["SDK_IMAGE", "RUNTIME_BASE_IMAGE"], fromArgs);
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0", defaults["SDK_IMAGE"]);
        Assert.Equal("debian:bookworm-slim", defaults["RUNTIME_BASE_IMAGE"]);

        var script = Read("scripts", "containers", "build-images.sh");
        Assert.Contains("podman build -f deploy/docker/router.Dockerfile", script);
        foreach (var arg in fromArgs) Assert.Contains($"--build-arg {arg}=", script);
    }

    [Fact]
    public void Script_TagsTheImageTheNodeStatefulSetAndTheGatewayDeploymentRun()
    {
        // The script reads the image from the StatefulSet's file, as the base renders it (no kustomize image override).
        var script = Read("scripts", "containers", "build-images.sh");
        Assert.Contains("sed -n 's/^ *image: *//p' deploy/k8s/base/node-statefulset.yaml", script);
        var inFile = Regex.Match(Read("deploy", "k8s", "base", "node-statefulset.yaml"), @"^\s*image:\s*(\S+)\s*$", RegexOptions.Multiline).Groups[1].Value;
        var manifests = Manifests.Render("deploy/k8s");
        Assert.Equal(inFile, manifests.WorkloadOfRole("node").Container.Str("image"));
        Assert.Equal(inFile, manifests.WorkloadOfRole("gateway").Container.Str("image"));
    }
}
