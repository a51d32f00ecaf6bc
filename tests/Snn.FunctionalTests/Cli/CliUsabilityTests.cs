using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Snn.Cli;
using Snn.Cli.Internal;
using Snn.FunctionalTests.Infrastructure;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Cli;

/// <summary>
/// What a new user of <c>snn</c> ran into (issue 13), against a real server: the input syntax and its
/// bounds, inputs on a REALTIME network, a lossless watch of a fast run and the step it announces,
/// connection errors, the JSON of <c>get</c>, <c>--plot</c>, and no progress bar where no terminal is.
/// </summary>
public sealed partial class CliUsabilityTests(ServerFixture server) : IClassFixture<ServerFixture>, IDisposable
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(90);

    private readonly string _directory = Directory.CreateTempSubdirectory("snn-cli-usability-").FullName;

    private string Server => server.Address.ToString();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task An_input_value_applies_to_every_listed_index_and_offsets_past_the_run_are_refused()
    {
        await CreateAsync("cli-syntax", ClockMode.Lockstep, size: 4);

        // Both listed neurons get 2.5 (> threshold 1) and spike; neuron 1 gets the default 1 (not above it).
        var run = await CliRunner.RunAsync("run", "cli-syntax", "--steps", "2", "--input", "in:0,2=2.5@0", "in:1@1", "-s", Server);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(["step 0  out: 0 2", "step 1  -"], StepLines(run.Output));

        var late = await CliRunner.RunAsync("run", "cli-syntax", "--steps", "3", "--input", "in:1@3", "-s", Server);
        Assert.True(late.ExitCode == SnnCli.UsageError, late.ToString());
        Assert.Contains("--input 'in:1@3': offset 3 is past the last step of this run; with --steps 3 the offsets are 0 to 2", late.Error);

        var perIndex = await CliRunner.RunAsync("run", "cli-syntax", "--input", "in:0=1,2", "-s", Server);
        Assert.True(perIndex.ExitCode == SnnCli.UsageError, perIndex.ToString());
        Assert.Contains("one value goes after all the indices and applies to each of them", perIndex.Error);

        // Nothing was sent by the refused runs: the instance is still at step 2.
        using var client = server.CreateClient();
        Assert.Equal(2ul, (await client.GetNetworkAsync(new GetNetworkRequest { Name = "cli-syntax" })).Instances[0].Step);

        var help = await CliRunner.RunAsync("run", "--help");
        Assert.Contains("the value (default 1) applies to every listed index", help.Output);
        await DeleteAsync("cli-syntax");
    }

    [Fact]
    public async Task A_REALTIME_run_applies_its_inputs_within_the_steps_it_prints_and_a_watcher_prints_the_step_it_announces()
    {
        await CreateAsync("cli-rt", ClockMode.Realtime, size: 2);
        try
        {
            var run = await CliProcess.RunAsync(ProcessTimeout, "run", "cli-rt", "--steps", "3", "--input", "in:0=2@0", "--server", Server);
            Assert.True(run.ExitCode == 0, run.ToString());
            ulong from = ulong.Parse(PlacedFrom().Match(run.Output).Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.Equal([$"step {from}  out: 0", $"step {from + 1}  -", $"step {from + 2}  -"], StepLines(run.Output));
            Assert.DoesNotContain("warning", run.Error);

            // The clock runs on while a watcher opens: the first step it prints is the one it announced.
            var watch = await CliProcess.RunAsync(ProcessTimeout, "watch", "cli-rt", "--max-steps", "5", "--server", Server);
            Assert.True(watch.ExitCode == 0, watch.ToString());
            ulong announced = ulong.Parse(AtStep().Match(watch.Output).Groups[1].Value, CultureInfo.InvariantCulture);
            var steps = StepLines(watch.Output);
            Assert.Equal(5, steps.Count);
            Assert.StartsWith($"step {announced} ", steps[0]);
        }
        finally
        {
            await DeleteAsync("cli-rt");
        }
    }

    [Fact]
    public async Task A_lossless_watch_is_not_cut_off_by_bursts_of_a_fast_run()
    {
        // 200 neurons that keep spiking once kicked (a self-projection of weight 2): every step carries
        // 200 spikes, a printed line of about 800 bytes, so a burst outruns the flow-control windows and
        // the watcher lags it by most of the burst.
        const int neurons = 200, burst = 2000, bursts = 5;
        var spec = new NetworkSpec { Name = "cli-burst" };
        spec.Populations.Add(new PopulationSpec { Name = "in", Model = "input", Size = neurons });
        spec.Populations.Add(new PopulationSpec { Name = "out", Model = "snntorch.Leaky", Size = neurons, Params = { ["beta"] = new ParameterValue { Scalar = 0.8 } } });
        spec.Projections.Add(new ProjectionSpec { Name = "ff", Source = "in", Target = "out", OneToOne = new OneToOneProjection() });
        spec.Projections.Add(new ProjectionSpec { Name = "loop", Source = "out", Target = "out", OneToOne = new OneToOneProjection { Weights = { Enumerable.Repeat(2f, neurons) } } });
        using var client = server.CreateClient();
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec });

        using var watch = CliProcess.Start("watch", "cli-burst", "--max-steps", (burst * bursts).ToString(CultureInfo.InvariantCulture), "--server", Server);
        await watch.WaitForLineAsync("watching network 'cli-burst' instance 0 at step 0", ProcessTimeout);

        // Each burst executes as fast as the server steps (far faster than a process prints), then the
        // test waits for the watcher to print it: a burst fits in the watcher's queue, so nothing is cut off.
        await using (var run = await client.OpenRunAsync(new RunOpen { Network = "cli-burst" }))
        {
            for (int b = 0; b < bursts; b++)
            {
                await run.AdvanceAsync(burst, b == 0 ? [new Input { Population = "in", Indices = { Enumerable.Range(0, neurons).Select(n => (uint)n) }, Values = { Enumerable.Repeat(2f, neurons) } }] : null);
                int read = 0;
                while (read < burst && await run.ReadAsync() is { } response)
                {
                    read += response.Steps.Count;
                }

                Assert.Equal(burst, read);
                await watch.WaitForLineAsync($"step {((b + 1) * burst) - 1} ", ProcessTimeout);
            }

            await run.CompleteAsync();
        }

        var result = await watch.WaitAsync(ProcessTimeout);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Error}");
        var steps = StepLines(result.Output);
        Assert.Equal(burst * bursts, steps.Count);
        Assert.Equal(Enumerable.Range(0, burst * bursts).Select(s => s.ToString(CultureInfo.InvariantCulture)), steps.Select(l => l.Split(' ')[1]));
        string all = "out: " + string.Join(' ', Enumerable.Range(0, neurons));
        Assert.All(steps, l => Assert.EndsWith(all, l));
        await DeleteAsync("cli-burst");
    }

    [Fact]
    public async Task Https_to_the_plain_port_and_a_closed_port_say_what_to_change()
    {
        var address = server.Address;
        var tls = await CliRunner.RunAsync("info", "--server", $"https://{address.Host}:{address.Port}");
        Assert.True(tls.ExitCode == SnnCli.RpcFailed, tls.ToString());
        Assert.Contains($"error: cannot reach the server: the server at https://{address.Host}:{address.Port} did not complete a TLS handshake", tls.Error);
        Assert.Contains($"use http://{address.Host}:{address.Port}", tls.Error);

        int port = Snn.Cli.Bench.ChildProcess.FreePort();
        var refused = await CliRunner.RunAsync("list", "--server", $"http://127.0.0.1:{port}");
        Assert.True(refused.ExitCode == SnnCli.RpcFailed, refused.ToString());
        Assert.Contains($"error: cannot reach the server: nothing is listening at 127.0.0.1:{port} (connection refused)", refused.Error);
    }

    [Fact]
    public async Task Get_indents_nested_json_two_spaces_a_level()
    {
        await CreateAsync("cli-json", ClockMode.Lockstep, size: 3);
        var got = await CliRunner.RunAsync("get", "cli-json", "--weights", "-s", Server);
        Assert.True(got.ExitCode == 0, got.ToString());
        Assert.Equal("cli-json", Google.Protobuf.JsonParser.Default.Parse<Network>(got.Output).Spec.Name);
        Assert.Contains("\"populations\": [", got.Output); // arrays of objects: the nesting the formatter misplaced
        AssertIndentedByDepth(got.Output);
        await DeleteAsync("cli-json");
    }

    [Fact]
    public async Task Plot_writes_an_svg_whose_spike_marks_are_the_spikes_received_and_whose_traces_are_the_recorded_state()
    {
        await CreateAsync("cli-plot", ClockMode.Lockstep, size: 12);
        var svg = Path.Combine(_directory, "raster.svg");
        var run = await CliRunner.RunAsync("run", "cli-plot", "--steps", "40", "--input", "in:0-11=0.6@0", "in:0,3,5=2@10", "in:2-9=1.5@20", "in:0-11=3@30", "in:1,4=2@35",
            "--plot", svg, "--plot-neurons", "5", "-s", Server);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("wrote " + svg, run.Output);

        var printed = new HashSet<(string Step, string Population, string Neuron)>();
        foreach (var line in StepLines(run.Output))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries); // step N out: a b c [mem: ...] or step N - [mem: ...]
            Assert.Contains("[mem:", line);
            if (parts[2] == "-")
            {
                continue;
            }

            Assert.Equal("out:", parts[2]);
            foreach (var neuron in parts[3..].TakeWhile(p => !p.StartsWith('[')))
            {
                printed.Add((parts[1], "out", neuron));
            }
        }

        Assert.True(printed.Count > 10, run.ToString());
        var doc = XDocument.Load(svg);
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(ns + "svg", doc.Root!.Name);
        var marks = doc.Descendants(ns + "line").Where(e => (string?)e.Attribute("class") == "spike")
            .Select(e => ((string)e.Attribute("data-step")!, (string)e.Attribute("data-population")!, (string)e.Attribute("data-neuron")!)).ToList();
        Assert.Equal(marks.Count, marks.Distinct().Count());
        Assert.True(printed.SetEquals(marks));

        var traces = doc.Descendants(ns + "polyline").Where(e => (string?)e.Attribute("class") == "trace").ToList();
        Assert.Equal(["0", "1", "2", "3", "4"], traces.Select(t => (string)t.Attribute("data-neuron")!));
        Assert.All(traces, t => Assert.Equal("mem", (string)t.Attribute("data-variable")!));
        Assert.All(traces, t => Assert.Equal(40, ((string)t.Attribute("points")!).Split(' ').Length));
        var labels = doc.Descendants(ns + "text").Select(t => t.Value).ToList();
        Assert.Contains("step", labels);
        Assert.Contains("neuron", labels);
        Assert.Contains("out: mem (neurons 0–4)", labels);

        // watch --plot: the steps another client drives, written when --max-steps ends the watch.
        var watchSvg = Path.Combine(_directory, "watch.svg");
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var cts = new CancellationTokenSource(CliRunner.DefaultTimeout);
        var watchOut = TextWriter.Synchronized(output);
        var watch = SnnCli.InvokeAsync(["watch", "cli-plot", "--max-steps", "4", "--plot", watchSvg, "-s", Server], watchOut, TextWriter.Synchronized(error), cts.Token);
        while (!output.ToString().Contains("watching network 'cli-plot'", StringComparison.Ordinal))
        {
            Assert.False(watch.IsCompleted, $"watch ended early: {error}");
            await Task.Delay(20, cts.Token);
        }

        var driven = await CliRunner.RunAsync("run", "cli-plot", "--steps", "4", "--input", "in:1,7=3@1", "in:4=3@3", "-s", Server);
        Assert.True(driven.ExitCode == 0, driven.ToString());
        Assert.Equal(0, await watch.WaitAsync(CliRunner.DefaultTimeout));
        Assert.Contains("wrote " + watchSvg, output.ToString());
        var watched = XDocument.Load(watchSvg).Descendants(ns + "line").Where(e => (string?)e.Attribute("class") == "spike")
            .Select(e => ((string)e.Attribute("data-step")!, (string)e.Attribute("data-neuron")!)).Order().ToList();
        var drivenSpikes = StepLines(driven.Output).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(parts => parts[2] == "out:").SelectMany(parts => parts[3..].Select(n => (parts[1], n))).Order().ToList();
        Assert.Contains(("41", "1"), drivenSpikes);
        Assert.Equal(drivenSpikes, watched);
        Assert.Equal(4, XDocument.Load(watchSvg).Descendants(ns + "polyline").First().Attribute("points")!.Value.Split(' ').Length);
        await DeleteAsync("cli-plot");
    }

    [Fact]
    public void The_readme_shows_an_example_plot_written_by_snn_run()
    {
        var readme = File.ReadAllText(Snn.FunctionalTests.Api.RepositoryFiles.ReadmePath);
        Assert.Contains("](docs/snn-plot.svg)", readme);
        var doc = XDocument.Load(Snn.FunctionalTests.Api.RepositoryFiles.Resolve("docs", "snn-plot.svg"));
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Contains(doc.Descendants(ns + "line"), e => (string?)e.Attribute("class") == "spike");
        Assert.Contains(doc.Descendants(ns + "polyline"), e => (string?)e.Attribute("class") == "trace");
    }

    [Fact]
    public async Task No_progress_bar_is_drawn_into_pipes()
    {
        await CreateAsync("cli-quiet", ClockMode.Lockstep, size: 2);
        var run = await CliProcess.RunAsync(ProcessTimeout, "run", "cli-quiet", "--steps", "5000", "--quiet", "--input", "in:1=2@7", "--server", Server);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("5000 steps from step 0: 1 spikes", run.Output);
        Assert.Empty(StepLines(run.Output));
        Assert.DoesNotContain('\u001b', run.Error + run.Output);
        Assert.Equal(string.Empty, run.Error);

        // The rule itself: a bar only on a terminal stderr, and only where step lines do not scroll over it.
        static CliContext Context(TerminalInfo? terminal) => new(TextWriter.Null, TextWriter.Null, []) { Terminal = terminal };
        Assert.False(Progress.Wanted(Context(null), quietOutput: true));
        Assert.False(Progress.Wanted(Context(new TerminalInfo(StdoutIsTerminal: true, StderrIsTerminal: false)), quietOutput: true));
        Assert.False(Progress.Wanted(Context(new TerminalInfo(StdoutIsTerminal: true, StderrIsTerminal: true)), quietOutput: false));
        Assert.True(Progress.Wanted(Context(new TerminalInfo(StdoutIsTerminal: true, StderrIsTerminal: true)), quietOutput: true));
        Assert.True(Progress.Wanted(Context(new TerminalInfo(StdoutIsTerminal: false, StderrIsTerminal: true)), quietOutput: false));
        await DeleteAsync("cli-quiet");
    }

    /// <summary>Every line is indented two spaces per open bracket before it (a closing bracket's line, one level less).</summary>
    private static void AssertIndentedByDepth(string json)
    {
        int depth = 0;
        foreach (var raw in json.TrimEnd().Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var body = line.TrimStart(' ');
            int expected = body.StartsWith('}') || body.StartsWith(']') ? depth - 1 : depth;
            Assert.True(line.Length - body.Length == 2 * expected, $"'{line}' is indented {line.Length - body.Length}, expected {2 * expected}:\n{json}");
            bool inString = false;
            for (int i = 0; i < body.Length; i++)
            {
                char c = body[i];
                if (inString)
                {
                    if (c == '\\')
                    {
                        i++;
                    }
                    else if (c == '"')
                    {
                        inString = false;
                    }
                }
                else if (c == '"')
                {
                    inString = true;
                }
                else if (c is '{' or '[')
                {
                    depth++;
                }
                else if (c is '}' or ']')
                {
                    depth--;
                }
            }
        }

        Assert.Equal(0, depth);
    }

    private async Task CreateAsync(string name, ClockMode clock, uint size)
    {
        var spec = new NetworkSpec { Name = name, Clock = clock, Dt = 0.001 };
        if (clock == ClockMode.Realtime)
        {
            spec.RealtimeFactor = 1;
        }

        spec.Populations.Add(new PopulationSpec { Name = "in", Model = "input", Size = size });
        spec.Populations.Add(new PopulationSpec { Name = "out", Model = "snntorch.Leaky", Size = size, Params = { ["beta"] = new ParameterValue { Scalar = 0.8 } } });
        spec.Projections.Add(new ProjectionSpec { Name = "ff", Source = "in", Target = "out", OneToOne = new OneToOneProjection() });
        using var client = server.CreateClient();
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec });
    }

    private async Task DeleteAsync(string name)
    {
        using var client = server.CreateClient();
        await client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = name });
    }

    private static List<string> StepLines(string output) => StepLine().Matches(output).Select(m => m.Value.TrimEnd()).ToList();

    [GeneratedRegex(@"(?m)^step \d+ .*$")]
    private static partial Regex StepLine();

    [GeneratedRegex(@"inputs are placed from step (\d+)")]
    private static partial Regex PlacedFrom();

    [GeneratedRegex(@"watching network '[^']+' instance \d+ at step (\d+)")]
    private static partial Regex AtStep();
}
