using System.Text.RegularExpressions;
using Snn.FunctionalTests.Api;
using Xunit.Abstractions;

namespace Snn.FunctionalTests.Deploy;

/// <summary>
/// deploy/Dockerfile and docker-compose.yml. The Dockerfile's properties are checked always; the image
/// is built and its container run (deploy/check-container.sh) where a Docker engine answers. The test
/// output says which happened.
/// </summary>
public sealed partial class ContainerTests(ITestOutputHelper output)
{
    private static readonly string DockerfilePath = RepositoryFiles.Resolve("deploy", "Dockerfile");

    [Fact]
    public void Dockerfile_is_multi_stage_non_root_with_volume_healthcheck_and_gpu_target_and_its_container_serves_where_docker_runs()
    {
        var lines = Instructions(File.ReadAllText(DockerfilePath));

        // Base images as arguments, the official ones by default.
        Assert.Contains("ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0", lines);
        Assert.Contains("ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0", lines);
        var stages = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.Equal(["FROM ${SDK_IMAGE} AS build", "FROM ${RUNTIME_IMAGE} AS app", "FROM app AS gpu", "FROM app AS cpu"], stages);

        // What the build stage copies exists and reaches the build context (.dockerignore), and it publishes the server.
        var ignore = File.ReadAllLines(RepositoryFiles.Resolve(".dockerignore"));
        foreach (var copy in lines.Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from", StringComparison.Ordinal)))
        {
            var sources = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1];
            foreach (var source in sources)
            {
                Assert.True(File.Exists(RepositoryFiles.Resolve(source)) || Directory.Exists(RepositoryFiles.Resolve(source)),
                    $"the Dockerfile copies {source}, which the repository does not have");
                string top = source.TrimEnd('/').Split('/')[0];
                Assert.True(ignore.Contains("!" + top) || ignore.Contains("!" + top + "/"), $".dockerignore keeps {top} out of the build context");
            }
        }

        Assert.Contains("RUN dotnet publish Snn.Server/Snn.Server.csproj -c Release --no-restore -o /app", lines);
        Assert.Contains("ENTRYPOINT [\"dotnet\", \"/app/Snn.Server.dll\"]", lines);

        // A user other than root, the data directory as a volume, configuration through Snn__ variables, a HEALTHCHECK.
        var app = Stage(lines, "app");
        var user = Assert.Single(app, l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.Equal("USER ${APP_UID}", user);
        Assert.Contains("ARG APP_UID=1654", app);
        Assert.Contains("VOLUME /data", app);
        Assert.Contains(app, l => l.StartsWith("ENV ", StringComparison.Ordinal) && l.Contains("Snn__DataDirectory=/data", StringComparison.Ordinal));
        Assert.Contains(app, l => l.StartsWith("HEALTHCHECK ", StringComparison.Ordinal) && l.EndsWith("CMD [\"dotnet\", \"/app/Snn.Server.dll\", \"--healthcheck\"]", StringComparison.Ordinal));
        Assert.Contains(Stage(lines, "gpu"), l => l.StartsWith("ENV ", StringComparison.Ordinal) && l.Contains("Snn__Engine__Backend=cuda", StringComparison.Ordinal));
        Assert.DoesNotContain(Stage(lines, "cpu"), l => l.Contains("Backend", StringComparison.Ordinal));

        // The image itself, where a Docker engine answers.
        string? docker = Tool.Find("docker");
        var (infoCode, info) = docker is null ? (-1, "no docker command on PATH") : Tool.Run(docker, ["info"], TimeSpan.FromSeconds(30));
        if (infoCode != 0)
        {
            output.WriteLine($"container check NOT run: no Docker engine answers ({Last(info)}); the Dockerfile's properties were checked. " +
                "On a machine with a Docker engine run: bash deploy/check-container.sh");
            return;
        }

        output.WriteLine("container check: a Docker engine answers; running deploy/check-container.sh");
        var (code, log) = Tool.Run("/bin/bash", [RepositoryFiles.Resolve("deploy", "check-container.sh")], TimeSpan.FromMinutes(20));
        output.WriteLine(log);
        Assert.True(code == 0, $"deploy/check-container.sh exited with {code}:\n{log}");
        Assert.Contains("container check passed", log, StringComparison.Ordinal);
    }

    [Fact]
    public void Compose_file_validates_with_docker_compose()
    {
        string? compose = Tool.Find("docker-compose");
        Assert.True(compose is not null, "docker-compose is not installed: .ci/run installs Debian's docker-compose (apt-get install docker-compose)");

        foreach (string[] args in new[] { ["-f", "docker-compose.yml", "config"], new[] { "--profile", "gpu", "-f", "docker-compose.yml", "config" } })
        {
            var (code, config) = Tool.Run(compose, args, TimeSpan.FromMinutes(1));
            Assert.True(code == 0, $"docker-compose {string.Join(' ', args)} failed:\n{config}");
            Assert.Contains("dockerfile: deploy/Dockerfile", config, StringComparison.Ordinal);
            Assert.Contains("- snn-data:/data:rw", config, StringComparison.Ordinal);
            Assert.Contains("image: prom/prometheus", config, StringComparison.Ordinal);
            Assert.Contains("deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro", config, StringComparison.Ordinal);
            Assert.Contains("target: gpu", config, StringComparison.Ordinal);
            Assert.Contains("driver: nvidia", config, StringComparison.Ordinal);
        }
    }

    /// <summary>The Dockerfile's instructions, continuation lines joined and comments dropped.</summary>
    private static List<string> Instructions(string text) =>
        Continuation().Replace(text, " ").Split('\n')
            .Select(l => Spaces().Replace(l.Trim(), " "))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .ToList();

    /// <summary>The instructions of one stage (from its FROM to the next).</summary>
    private static List<string> Stage(List<string> lines, string name)
    {
        int start = lines.FindIndex(l => l.StartsWith("FROM ", StringComparison.Ordinal) && l.EndsWith(" AS " + name, StringComparison.Ordinal));
        Assert.True(start >= 0, $"the Dockerfile has no stage {name}");
        int end = lines.FindIndex(start + 1, l => l.StartsWith("FROM ", StringComparison.Ordinal));
        return lines[start..(end < 0 ? lines.Count : end)];
    }

    private static string Last(string text) => text.Trim().Split('\n').LastOrDefault()?.Trim() ?? string.Empty;

    [GeneratedRegex(@"\\\r?\n")]
    private static partial Regex Continuation();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
