using Microsoft.Extensions.Configuration;
using Xunit;

namespace Router.Tests.Deploy;

/// <summary>The checks the manifest tests rely on reject what the app does not read or cannot bind.</summary>
public sealed class AppConfigurationSurfaceTests
{
    [Theory]
    [InlineData(RouterProgram.Node, "Router__Role")]
    [InlineData(RouterProgram.Node, "Router__Cluster__Port")]
    [InlineData(RouterProgram.Node, "router__cluster__seednodes__2")]
    [InlineData(RouterProgram.Node, "Router__Camera__SizePolicy__HardLimitBytes")]
    [InlineData(RouterProgram.Node, "Router__PullSources__0__Url")]
    [InlineData(RouterProgram.Gateway, "Router__Gateway__DefaultStreamTimeout")]
    [InlineData(RouterProgram.Gateway, "Router__ApiKeys__3__Scopes__1")]
    [InlineData(RouterProgram.Gateway, "Router__ApiKeys__0__Sha256")]
    [InlineData(RouterProgram.Gateway, "Logging__LogLevel__Default")]
    [InlineData(RouterProgram.Gateway, "ASPNETCORE_URLS")]
    [InlineData(RouterProgram.Gateway, "DOTNET_gcServer")]
    [InlineData(RouterProgram.Gateway, "Router__Role")]
    public void Reads(RouterProgram program, string variable) =>
        Assert.Null(AppConfigurationSurface.WhyNotRead(program, variable));

    [Theory]
    [InlineData(RouterProgram.Node, "Router__Cluster__Prot")]                 // misspelt property
    [InlineData(RouterProgram.Node, "Router__Cluster__SeedNodes")]            // a list set as one value
    [InlineData(RouterProgram.Node, "Router__Cluster__SeedNodes__first")]     // not an index
    [InlineData(RouterProgram.Node, "Router__Cluster__Port__0")]              // below a single value
    [InlineData(RouterProgram.Node, "Router__Camera__SizePolicy")]            // a section set as one value
    [InlineData(RouterProgram.Node, "Router__Gateway__DefaultStreamTimeout")] // a gateway setting on a node
    [InlineData(RouterProgram.Node, "Router__ApiKeys__0__Sha256")]            // nodes do not authenticate
    [InlineData(RouterProgram.Gateway, "Router__ApiKeys__0__Hash")]
    [InlineData(RouterProgram.Gateway, "Router__Cluster__Seeds__0")]
    [InlineData(RouterProgram.Gateway, "Router__Demo__PrintBanner")]          // standalone only
    [InlineData(RouterProgram.Gateway, "AKKA_CLUSTER_PORT")]
    [InlineData(RouterProgram.Gateway, "Logging__Default")]
    public void DoesNotRead(RouterProgram program, string variable) =>
        Assert.NotNull(AppConfigurationSurface.WhyNotRead(program, variable));

    [Fact]
    public void Binding_RejectsValuesThatDoNotConvert_AndAcceptsGoodOnes()
    {
        IConfiguration Config(params (string Key, string Value)[] values) =>
            new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

        Assert.Empty(AppConfigurationSurface.BindErrors(RouterProgram.Gateway,
            Config(("Router:Cluster:Port", "4053"), ("Router:Gateway:DefaultStreamTimeout", "00:10:00"), ("Router:ApiKeys:0:Scopes:0", "view"))));
        Assert.NotEmpty(AppConfigurationSurface.BindErrors(RouterProgram.Node, Config(("Router:Cluster:Port", "http"))));
        Assert.NotEmpty(AppConfigurationSurface.BindErrors(RouterProgram.Gateway, Config(("Router:Gateway:DefaultStreamTimeout", "ten minutes"))));
    }

    [Fact]
    public void Manifests_ParseEnvironment_AndExpandReferences_AsKubernetesDoes()
    {
        Workload Parse(string extraEnv) => Manifests.Parse("inline", $$"""
            apiVersion: v1
            kind: ConfigMap
            metadata: { name: cfg, namespace: ns }
            data: { Router__Cluster__SystemName: "from-configmap", Router__Cluster__Port: "4053" }
            ---
            apiVersion: apps/v1
            kind: StatefulSet
            metadata: { name: router-node, namespace: ns }
            spec:
              template:
                spec:
                  containers:
                    - name: c
                      image: registry.example.com/x/router-node:1
                      envFrom: [ { configMapRef: { name: cfg } } ]
                      env:
                        - { name: POD_NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }
                        - { name: Router__Cluster__PublicHostname, value: "$(POD_NAME).svc" }
                        - { name: Router__Cluster__SystemName, value: "from-env" }
            {{extraEnv}}
            """).Workloads.Single();

        var w = Parse(string.Empty);
        Assert.Equal(new[] { "POD_NAME" }, w.ReferencedVariables());
        var cluster = Router.Actors.Hosting.RouterConfiguration.Cluster(w.Configuration(w.SampleFields(2)));
        Assert.Equal("router-node-2.svc", cluster.PublicHostname); // $(POD_NAME) expanded
        Assert.Equal("from-env", cluster.SystemName);              // env wins over envFrom
        Assert.Equal(4053, cluster.Port);                          // envFrom applies

        // A reference to an undefined variable: Kubernetes would pass "$(UNDEFINED)" verbatim.
        var broken = Parse("            - { name: Broken, value: \"$(UNDEFINED)\" }");
        var e = Assert.ThrowsAny<Exception>(() => broken.ResolvedEnvironment());
        Assert.Contains("UNDEFINED", e.Message);
    }
}
