using System.Diagnostics;
using System.Text.RegularExpressions;
using Router.Tests.Media;
using Xunit;

namespace Router.Tests.Deploy;

/// <summary>
/// deploy/docker/*.Dockerfile checked without a Docker engine: what they publish and start, the user and ports
/// against the manifests, and the Debian packages against what libOpenCvSharpExtern.so really links.
/// </summary>
public sealed class DockerfileTests
{
    /// <summary>The one image (every workload runs it, in its own role).</summary>
    private const string DockerfileName = "router.Dockerfile";

    [Fact]
    public void Image_PublishesAndStartsRouterNode_AsTheNonRootUserOfThePods_ExposingTheContainerPorts()
    {
        const string project = "Router.Node";
        var file = Dockerfile.Load(DockerfileName);
        Assert.Contains($"dotnet publish src/{project}/{project}.csproj", file.Text);
        Assert.Equal($"[\"/app/{project}\"]", file.Final("ENTRYPOINT").Single());

        var user = file.Final("USER").Last();
        var uid = user.Split(':')[0];
        Assert.True(int.TryParse(uid, out var n) && n > 0, $"{DockerfileName}: USER {user} must be a numeric non-root UID (runAsNonRoot checks it)");

        var exposed = file.Final("EXPOSE").SelectMany(e => e.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(p => int.Parse(p.Split('/')[0])).ToList();
        foreach (var kustomization in Manifests.Kustomizations)
        {
            var m = Manifests.Render(kustomization);
            foreach (var w in m.Workloads)
                Assert.Equal(uid, w.PodSpec.StrAt("securityContext.runAsUser"));
            // Every port a workload declares, and no other.
            Assert.Equal(m.Workloads.SelectMany(w => w.ContainerPorts).Distinct().Order(), exposed.Order());
        }

        foreach (var source in file.CopySources())
            Assert.True(File.Exists(Path.Combine(TestMedia.RepoRoot(), source)) || Directory.Exists(Path.Combine(TestMedia.RepoRoot(), source)),
                $"{DockerfileName}: COPY {source} does not exist in the repository");
    }

    [Fact]
    public void Image_CarriesTheDemoClipWhereTheAppLooksForIt()
    {
        var file = Dockerfile.Load(DockerfileName);
        Assert.Equal("/app", file.Final("WORKDIR").Last());
        Assert.Contains(file.Final("COPY"), c => c.StartsWith("assets/media/lobby.avi", StringComparison.Ordinal) && c.EndsWith(" /app/assets/media/"));
    }

    /// <summary>
    /// Both runtime stages install the Debian package of every library libOpenCvSharpExtern.so links directly
    /// (readelf NEEDED, resolved by ldd on this Debian machine, owner from dpkg); the rest come through Depends.
    /// </summary>
    [Fact]
    public void RuntimeStages_InstallTheDebianPackagesOfEveryLibraryOpenCvSharpLinks()
    {
        var native = Directory.GetFiles(AppContext.BaseDirectory, "libOpenCvSharpExtern.so", SearchOption.AllDirectories).FirstOrDefault()
            ?? throw new Xunit.Sdk.XunitException($"libOpenCvSharpExtern.so is not under {AppContext.BaseDirectory}");
        var needed = Regex.Matches(Run("readelf", "-d", native), @"\(NEEDED\)\s+Shared library: \[(.+?)\]").Select(x => x.Groups[1].Value).ToList();
        Assert.Contains("libgtk-3.so.0", needed);
        var resolved = new Dictionary<string, string>();
        foreach (var line in Run("ldd", native).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // scripts/setup.sh installs them on this machine, as the Dockerfiles do in the image.
            Assert.False(line.Contains("not found"), $"ldd {native}: {line}");
            var m = Regex.Match(line, @"^(\S+) => (/\S+)");
            if (m.Success) resolved[m.Groups[1].Value] = m.Groups[2].Value;
        }

        var packages = needed.Where(resolved.ContainsKey).ToDictionary(lib => lib, lib => OwnerPackage(resolved[lib]));
        Assert.Equal("libgtk-3-0", packages["libgtk-3.so.0"]);
        {
            var installed = Dockerfile.Load(DockerfileName).AptPackages();
            var missing = packages.Where(p => !installed.Contains(p.Value)).Select(p => $"{p.Value} ({p.Key})").Distinct().ToList();
            Assert.True(missing.Count == 0, $"{DockerfileName}: the runtime stage does not install {string.Join(", ", missing)}");
        }
    }

    /// <summary>The Debian package that owns a library (dpkg records /lib or /usr/lib, the symlink or its target).</summary>
    private static string OwnerPackage(string path)
    {
        var target = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
        var candidates = new[] { path, target }
            .SelectMany(p => new[] { p, p.StartsWith("/usr/", StringComparison.Ordinal) ? p[4..] : "/usr" + p });
        foreach (var candidate in candidates.Distinct())
        {
            var owner = Run("dpkg", ["-S", candidate], allowFailure: true);
            if (owner.Length > 0) return owner.Split('\n')[0].Split(':')[0];
        }
        throw new Xunit.Sdk.XunitException($"no Debian package owns {path}");
    }

    private static string Run(string tool, params string[] args) => Run(tool, args, allowFailure: false);

    private static string Run(string tool, string[] args, bool allowFailure)
    {
        var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new Xunit.Sdk.XunitException($"cannot run {tool}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0 && !allowFailure)
            throw new Xunit.Sdk.XunitException($"{tool} {string.Join(' ', args)} failed: {error.Result}");
        return process.ExitCode == 0 ? output.Result.Trim() : string.Empty;
    }

    /// <summary>A Dockerfile's instructions (continuation lines joined, comments dropped).</summary>
    private sealed class Dockerfile
    {
        private readonly List<(int Stage, string Instruction, string Arguments)> _lines = [];

        public string Text { get; private init; } = string.Empty;

        public static Dockerfile Load(string name)
        {
            var text = File.ReadAllText(Path.Combine(TestMedia.RepoRoot(), "deploy", "docker", name));
            var file = new Dockerfile { Text = Regex.Replace(text, @"\\\n\s*", " ") };
            var stage = 0;
            foreach (var raw in file.Text.Split('\n'))
            {
                var line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#')) continue;
                var space = line.IndexOf(' ');
                var instruction = space < 0 ? line : line[..space];
                if (instruction == "FROM") stage++;
                file._lines.Add((stage, instruction, space < 0 ? string.Empty : Regex.Replace(line[(space + 1)..].Trim(), @"\s+", " ")));
            }
            return file;
        }

        /// <summary>Arguments of <paramref name="instruction"/> in the final stage.</summary>
        public IEnumerable<string> Final(string instruction)
        {
            var last = _lines.Max(l => l.Stage);
            return _lines.Where(l => l.Stage == last && l.Instruction == instruction).Select(l => l.Arguments);
        }

        /// <summary>Sources of COPY instructions that copy from the build context (not --from a stage).</summary>
        public IEnumerable<string> CopySources() =>
            _lines.Where(l => l.Instruction == "COPY" && !l.Arguments.StartsWith("--from", StringComparison.Ordinal))
                .SelectMany(l => l.Arguments.Split(' ').SkipLast(1));

        /// <summary>Packages of every <c>apt-get install</c> in the final stage.</summary>
        public ISet<string> AptPackages() =>
            Final("RUN").SelectMany(r => Regex.Matches(r, @"apt-get install (.*?)(&&|$)").Select(m => m.Groups[1].Value))
                .SelectMany(args => args.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(a => !a.StartsWith('-'))
                .ToHashSet();
    }
}
