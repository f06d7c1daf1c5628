using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Router.Node;
using Xunit;
using Router.Tests.Support;

namespace Router.Tests.Deploy;

/// <summary>
/// The probe paths of the manifests answered by the real executables, started with the manifests' own configuration
/// (role, ConfigMap, Secret) and only the network addresses changed to free local ones: Router.Node in-process
/// (<see cref="RouterNodeApp.Build"/>) in role node, and in role gateway as its own process.
/// </summary>
public sealed class ProbeTests
{
    private static readonly TimeSpan ReadyWithin = TimeSpan.FromSeconds(60);

    /// <summary>A path the gateway serves under each Prefix path of the Ingress.</summary>
    private static readonly Dictionary<string, string> PrefixSamples = new() { ["/v1"] = "/v1/sources" };

    [Fact]
    public async Task NodeProbes_AnswerOnTheNodeApp_ConfiguredAsInTheStatefulSet()
    {
        var nodes = Manifests.Render("deploy/k8s").WorkloadOfRole(ManifestTests.NodeRole);
        var args = LocalConfiguration(nodes)
            .Where(kv => !kv.Key.StartsWith("ASPNETCORE_", StringComparison.Ordinal) && !kv.Key.StartsWith("DOTNET_", StringComparison.Ordinal))
            .Select(kv => $"--{kv.Key.Replace("__", ":")}={kv.Value}")
            .Append("--urls=http://127.0.0.1:0")
            .Append("--Logging:LogLevel:Default=Warning")
            .ToArray();
        await using var app = RouterNodeApp.Build(args);
        await app.StartAsync();
        try
        {
            var url = RouterNodeApp.ListeningUrls(app).Single(u => u.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
            await AssertProbesAnswer(nodes, new Uri(url), () => string.Empty);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task GatewayProbes_AnswerOnTheGatewayRoleProcess_ConfiguredAsInTheDeployment()
    {
        var gateways = Manifests.Render("deploy/k8s").WorkloadOfRole(ManifestTests.GatewayRole);
        var info = TestExecutables.StartInfo("Router.Node.dll");
        foreach (var (k, v) in LocalConfiguration(gateways)) info.Environment[k] = v;
        info.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        info.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";

        var output = new ConcurrentQueue<string>();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        Assert.True(process.Start(), "Router.Node (gateway) did not start");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        string Log() => string.Join("\n", output.TakeLast(40));
        try
        {
            var deadline = WaitDeadline.In(ReadyWithin);
            Match listening;
            while (!(listening = output.Select(l => Regex.Match(l, @"Now listening on: (http://127\.0\.0\.1:\d+)")).FirstOrDefault(m => m.Success) ?? Match.Empty).Success)
            {
                Assert.False(process.HasExited, $"Router.Node (gateway) exited ({(process.HasExited ? process.ExitCode : 0)}):\n{Log()}");
                Assert.False(deadline.Passed, $"Router.Node (gateway) did not listen within {ReadyWithin}:\n{Log()}");
                await Task.Delay(50);
            }
            await AssertProbesAnswer(gateways, new Uri(listening.Groups[1].Value), Log);

            // Every path the Ingress routes exists on the gateway (an answer other than 404, e.g. 401 without a key).
            using var http = new HttpClient { BaseAddress = new Uri(listening.Groups[1].Value) };
            foreach (var rule in ManifestTests.IngressPaths(Manifests.Render("deploy/k8s")))
            {
                var path = rule.Type == "Exact" ? rule.Path
                    : PrefixSamples.TryGetValue(rule.Path, out var sample) ? sample
                    : throw new Xunit.Sdk.XunitException($"Ingress Prefix {rule.Path}: add a sample path under it to {nameof(PrefixSamples)}");
                var status = (await http.GetAsync(path)).StatusCode;
                Assert.True(status != HttpStatusCode.NotFound, $"the Ingress routes {path} ({rule.Type} {rule.Path}), which the gateway role answers with 404");
            }
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
    }

    /// <summary>
    /// The workload's configuration from the manifests with the network changed for a one-member local cluster:
    /// remoting on 127.0.0.1, a free port, no seeds (so it joins itself and becomes Up), no public hostname.
    /// </summary>
    private static Dictionary<string, string> LocalConfiguration(Workload w)
    {
        var env = w.ResolvedEnvironment().Where(kv => !kv.Key.StartsWith("Router__Cluster__SeedNodes__", StringComparison.Ordinal) &&
                                                      kv.Key != "Router__Cluster__PublicHostname")
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        env["Router__Cluster__Hostname"] = "127.0.0.1";
        env["Router__Cluster__Port"] = "0";
        return env;
    }

    /// <summary>Readiness reaches 200 (member Up), liveness is 200, and an unmapped path is 404 (the app does not answer everything).</summary>
    private static async Task AssertProbesAnswer(Workload w, Uri baseUri, Func<string> log)
    {
        var readiness = w.Container.StrAt("readinessProbe.httpGet.path")!;
        var liveness = w.Container.StrAt("livenessProbe.httpGet.path")!;
        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(10) };

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(liveness)).StatusCode);
        var deadline = WaitDeadline.In(ReadyWithin);
        HttpResponseMessage ready;
        while ((ready = await http.GetAsync(readiness)).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(ready.StatusCode == HttpStatusCode.ServiceUnavailable,
                $"{w.Object}: {readiness} answered {(int)ready.StatusCode} (expected 503 until ready, then 200)\n{log()}");
            Assert.False(deadline.Passed, $"{w.Object}: {readiness} not 200 within {ReadyWithin}\n{log()}");
            await Task.Delay(100);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/no-such-probe-path")).StatusCode);
    }
}
