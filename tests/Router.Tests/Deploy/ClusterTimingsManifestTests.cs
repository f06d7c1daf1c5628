using Router.Actors.Hosting;
using Xunit;

namespace Router.Tests.Deploy;

/// <summary>The cluster timings the manifests give nodes and gateways: valid (margin ≥ stable-after) and the same on every member.</summary>
public sealed class ClusterTimingsManifestTests
{
    public static TheoryData<string> Kustomizations => new(Manifests.Kustomizations);

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Nodes_and_gateways_get_the_same_valid_cluster_timings(string kustomization)
    {
        var m = Manifests.Render(kustomization);
        var node = RouterConfiguration.Cluster(m.WorkloadOfRole(ManifestTests.NodeRole).Configuration());
        var gateway = RouterConfiguration.Cluster(m.WorkloadOfRole(ManifestTests.GatewayRole).Configuration());
        node.Validate();
        gateway.Validate();
        Assert.Equal(node.SplitBrainStableAfter, gateway.SplitBrainStableAfter);
        Assert.Equal(node.DownRemovalMargin, gateway.DownRemovalMargin);
        Assert.True(node.SplitBrainStableAfter >= TimeSpan.FromSeconds(5), $"stable-after {node.SplitBrainStableAfter} downs members that merely pause");
    }
}
