using Snn.FunctionalTests.Infrastructure;

namespace Snn.FunctionalTests.Cli;

/// <summary>
/// <c>snn bench</c> in smoke form: every suite runs end to end in quick mode and reports every
/// figure. No timing is asserted; the figures depend on the machine and on what else runs on it.
/// </summary>
public sealed class CliBenchTests(ServerFixture server) : IClassFixture<ServerFixture>, IDisposable
{
    private static readonly TimeSpan BenchTimeout = TimeSpan.FromMinutes(4);

    private static readonly Dictionary<string, string[]> Figures = new()
    {
        ["lockstep-rtt"] =
        [
            "p50", "p99", "max", "steps/s", "RunRequest size", "RunResponse size",
            "echo p50", "echo p99", "echo max", "echo round trips/s", "echo request size", "echo response size", "p50 over echo",
        ],
        ["lockstep-batch"] = ["steps/s", "message p50", "message p99", "message max", "RunRequest size", "RunResponses per request"],
        ["ingest"] = ["events/s", "messages/s", "events per message", "RunRequest size"],
        ["realtime"] =
        [
            "tick lateness p50 (median over networks)", "tick lateness p99 (max over networks)", "tick lateness max (max over networks)",
            "step lateness p50 (median over networks)", "step lateness p99 (median over networks)", "step lateness p99 (max over networks)",
            "step lateness max (max over networks)", "overruns (sum)", "ticks (sum)", "ticks per network per s",
        ],
        ["fanout"] = ["driver steps/s", "steps driven", "steps per watcher (min)", "steps per watcher (max)", "complete watchers", "delivered steps/s (all watchers)"],
        ["replay"] =
        [
            "events/s (1 event(s)/µs)", "events/s (10 event(s)/µs)", "seconds (1 event(s)/µs)", "steps (1 event(s)/µs)",
            "requests (1 event(s)/µs)", "seconds (10 event(s)/µs)", "steps (10 event(s)/µs)", "requests (10 event(s)/µs)",
        ],
    };

    private readonly string _directory = Directory.CreateTempSubdirectory("snn-bench-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Lockstep_rtt_against_a_running_server_reports_every_figure_next_to_the_echo_baseline()
    {
        var report = Path.Combine(_directory, "rtt.md");
        var result = await CliRunner.RunAsync(BenchTimeout,
            "bench", "lockstep-rtt", "--quick", "--repeat", "1", "--round-trips", "300", "--server", server.Address.ToString(), "--out", report);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("starting", result.Output); // used the given server
        var markdown = await File.ReadAllTextAsync(report);
        AssertFigures(markdown, result.Output, "lockstep-rtt");
        Assert.Contains("(already running)", markdown);
        Assert.DoesNotContain("| lockstep-batch |", markdown);

        // The echo baseline mimics the measured message sizes.
        Assert.Equal(Value(markdown, "lockstep-rtt", "RunRequest size"), Value(markdown, "lockstep-rtt", "echo request size"));
        Assert.Equal(Value(markdown, "lockstep-rtt", "RunResponse size"), Value(markdown, "lockstep-rtt", "echo response size"));

        // The bench cleaned up after itself.
        using var client = server.CreateClient();
        Assert.DoesNotContain((await client.ListNetworksAsync()).Networks, n => n.Spec.Name.StartsWith("bench-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bench_all_quick_starts_its_own_server_and_reports_every_suite()
    {
        var report = Path.Combine(_directory, "all.md");
        var result = await CliRunner.RunAsync(BenchTimeout,
            "bench", "all", "--quick", "--repeat", "1", "--round-trips", "300", "--networks", "5", "--duration", "1", "--watchers", "4", "--out", report);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("starting ", result.Output);
        var markdown = await File.ReadAllTextAsync(report);
        foreach (var suite in Figures.Keys)
        {
            AssertFigures(markdown, result.Output, suite);
        }

        Assert.Contains("- command: `snn bench all --quick", markdown);
        Assert.Contains("- machine: " + Environment.ProcessorCount + " cores", markdown);
        Assert.Contains("| fanout | complete watchers | 4 |", markdown);
    }

    private static void AssertFigures(string markdown, string output, string suite)
    {
        foreach (var figure in Figures[suite])
        {
            Assert.Contains($"| {suite} | {figure} | ", markdown);
            Assert.Contains($"{suite} {figure}: ", output);
            Assert.DoesNotContain($"| {suite} | {figure} | n/a", markdown);
        }
    }

    private static string Value(string markdown, string suite, string figure)
    {
        var prefix = $"| {suite} | {figure} | ";
        var line = markdown.Split('\n').Single(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line[prefix.Length..].Split('|')[0].Trim();
    }
}
