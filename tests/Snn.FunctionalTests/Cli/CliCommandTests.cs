using System.Text.RegularExpressions;
using Snn.Cli;
using Snn.FunctionalTests.Infrastructure;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Cli;

/// <summary><c>snn</c> against a real server: the network life cycle through the command line, and its errors.</summary>
public sealed partial class CliCommandTests(ServerFixture server) : IClassFixture<ServerFixture>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("snn-cli-tests-").FullName;

    private string Server => server.Address.ToString();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Info_shows_the_server_and_its_models()
    {
        var info = await CliRunner.RunAsync("info", "--server", Server);
        Assert.True(info.ExitCode == 0, info.ToString());
        Assert.Contains("version", info.Output);
        Assert.Contains("backend  cpu", info.Output);
        Assert.Contains("snntorch.Leaky", info.Output);
        Assert.Contains("sinabs.IAF", info.Output);

        var withParameters = await CliRunner.RunAsync("info", "--parameters", "--server", Server);
        Assert.True(withParameters.ExitCode == 0, withParameters.ToString());
        Assert.Contains("beta", withParameters.Output);
    }

    [Fact]
    public async Task Create_list_get_run_delete_round_trip_with_a_spec_file()
    {
        const string name = "cli-roundtrip";
        var specFile = Path.Combine(_directory, "spec.json");
        await File.WriteAllTextAsync(specFile, """
            {
              "name": "cli-roundtrip",
              "populations": [
                { "name": "in", "model": "input", "size": 4 },
                { "name": "out", "model": "snntorch.Leaky", "size": 4, "params": { "beta": { "scalar": 0.5 } } }
              ],
              "projections": [
                { "name": "ff", "source": "in", "target": "out", "oneToOne": {} }
              ]
            }
            """);

        var created = await CliRunner.RunAsync("create", "--file", specFile, "--server", Server);
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.Contains("created network 'cli-roundtrip'", created.Output);
        Assert.Contains("in -> out", created.Output);

        var listed = await CliRunner.RunAsync("list", "--server", Server);
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Matches(@"(?m)^cli-roundtrip\s+LOCKSTEP\s+0\.001\s+1\s+8\s+4\s+in,out\s+0\s+-$", listed.Output); // not stepped yet

        var got = await CliRunner.RunAsync("get", name, "--weights", "--server", Server);
        Assert.True(got.ExitCode == 0, got.ToString());
        var network = Google.Protobuf.JsonParser.Default.Parse<Network>(got.Output);
        Assert.Equal(name, network.Spec.Name);
        Assert.Equal(["in", "out"], network.Order);

        // The spec printed by get --spec is accepted by create: a second network from it.
        var spec = await CliRunner.RunAsync("get", name, "--spec", "--server", Server);
        Assert.True(spec.ExitCode == 0, spec.ToString());
        Assert.Equal(network.Spec, Google.Protobuf.JsonParser.Default.Parse<NetworkSpec>(spec.Output));

        // Neuron 2 gets 2.5 (> threshold 1): spikes at step 0; neuron 0 gets 1 (not above it): silent.
        // Neuron 1 gets 1.5 at step 2 only.
        var run = await CliRunner.RunAsync("run", name, "--steps", "3", "--input", "in:0@0", "in:2=2.5@0", "in:1=1.5@2", "--server", Server);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("driving network 'cli-roundtrip' instance 0 at step 0; spikes from out", run.Output);
        var steps = StepLine().Matches(run.Output).Select(m => m.Value.TrimEnd()).ToList();
        Assert.Equal(["step 0  out: 2", "step 1  -", "step 2  out: 1"], steps);

        // The instance keeps its state: the next run continues at step 3.
        var next = await CliRunner.RunAsync("run", name, "--server", Server);
        Assert.True(next.ExitCode == 0, next.ToString());
        Assert.Contains("at step 3", next.Output);
        Assert.Contains("step 3 ", next.Output);

        var deleted = await CliRunner.RunAsync("delete", name, "--server", Server);
        Assert.True(deleted.ExitCode == 0, deleted.ToString());
        Assert.Contains("deleted network 'cli-roundtrip'", deleted.Output);

        var after = await CliRunner.RunAsync("list", "--server", Server);
        Assert.DoesNotContain(name, after.Output);
    }

    [Fact]
    public async Task Watch_prints_the_steps_another_client_drives()
    {
        const string name = "cli-watch";
        var specFile = Path.Combine(_directory, "watch.json");
        await File.WriteAllTextAsync(specFile, """
            { "name": "cli-watch",
              "populations": [ { "name": "in", "model": "input", "size": 3 }, { "name": "out", "model": "sinabs.IAF", "size": 3 } ],
              "projections": [ { "name": "ff", "source": "in", "target": "out", "oneToOne": {} } ] }
            """);
        Assert.Equal(0, (await CliRunner.RunAsync("create", "-f", specFile, "-s", Server)).ExitCode);

        using var output = new StringWriter();
        using var error = new StringWriter();
        var watchOut = TextWriter.Synchronized(output);
        using var cts = new CancellationTokenSource(CliRunner.DefaultTimeout);
        var watch = SnnCli.InvokeAsync(["watch", name, "--max-steps", "2", "-s", Server], watchOut, TextWriter.Synchronized(error), cts.Token);
        while (!output.ToString().Contains("watching network 'cli-watch'", StringComparison.Ordinal))
        {
            Assert.False(watch.IsCompleted, $"watch ended early: {error}");
            await Task.Delay(20, cts.Token);
        }

        var run = await CliRunner.RunAsync("run", name, "--steps", "2", "--input", "in:1@1", "-s", Server);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(0, await watch.WaitAsync(CliRunner.DefaultTimeout));
        var steps = StepLine().Matches(output.ToString()).Select(m => m.Value.TrimEnd()).ToList();
        Assert.Equal(["step 0  -", "step 1  out: 1"], steps);
        Assert.Equal(0, (await CliRunner.RunAsync("delete", name, "-s", Server)).ExitCode);
    }

    [Fact]
    public async Task An_unknown_network_fails_with_its_status_on_stderr_and_a_nonzero_exit_code()
    {
        foreach (var args in new[] { new[] { "get", "no-such-network" }, ["delete", "no-such-network"], ["run", "no-such-network"] })
        {
            var result = await CliRunner.RunAsync([.. args, "--server", Server]);
            Assert.True(result.ExitCode == SnnCli.RpcFailed, result.ToString());
            Assert.Contains("NOT_FOUND (5)", result.Error);
            Assert.Contains("no-such-network", result.Error);
            Assert.Equal(string.Empty, result.Output);
        }
    }

    [Fact]
    public async Task Usage_errors_are_reported_without_calling_the_server()
    {
        var badInput = await CliRunner.RunAsync("run", "x", "--input", "in:1,a", "--server", Server);
        Assert.Equal(SnnCli.UsageError, badInput.ExitCode);
        Assert.Contains("index 'a' is not a non-negative integer", badInput.Error);

        var badFile = Path.Combine(_directory, "bad.json");
        await File.WriteAllTextAsync(badFile, """{ "name": "x", "populationz": [] }""");
        var badSpec = await CliRunner.RunAsync("create", "--file", badFile, "--server", Server);
        Assert.Equal(SnnCli.UsageError, badSpec.ExitCode);
        Assert.Contains("bad.json:1: populationz: unknown field; NetworkSpec has name, populations", badSpec.Error);

        var missing = await CliRunner.RunAsync("create", "--file", Path.Combine(_directory, "missing.json"), "--server", Server);
        Assert.Equal(SnnCli.UsageError, missing.ExitCode);

        var badServer = await CliRunner.RunAsync("list", "--server", "ftp://x");
        Assert.Equal(SnnCli.UsageError, badServer.ExitCode);

        var invalidSpec = Path.Combine(_directory, "invalid.json");
        await File.WriteAllTextAsync(invalidSpec, """{ "name": "cli-invalid", "populations": [ { "name": "p", "model": "no.such.model", "size": 1 } ] }""");
        var invalid = await CliRunner.RunAsync("create", "--file", invalidSpec, "--server", Server);
        Assert.Equal(SnnCli.RpcFailed, invalid.ExitCode);
        Assert.Contains("INVALID_ARGUMENT (3)", invalid.Error);
        Assert.Contains("invalid.json:1: spec.populations[0].model 'no.such.model' is unknown", invalid.Error);
    }

    [Fact]
    public async Task Create_reads_yaml_with_npy_weights_and_names_the_line_of_a_server_side_mistake()
    {
        // w.npy: dense weights [target=2][source=3], written by our NpyFile (NumPy's own files are
        // covered by the client's unit tests).
        Snn.Client.Specs.NpyFile.Write(Path.Combine(_directory, "w.npy"), [1f, 0f, 0f, 0f, 1f, 0f], 2, 3);
        var good = Path.Combine(_directory, "good.yaml");
        await File.WriteAllTextAsync(good, """
            name: cli-yaml
            populations:
              - {name: in, model: input, size: 3}
              - name: out
                model: snntorch.Leaky
                size: 2
                params: {beta: {scalar: 0.5}}
            projections:
              - name: ff
                source: in
                target: out
                dense: {weights: {npy: w.npy}}
            """);
        var created = await CliRunner.RunAsync("create", "--file", good, "--server", Server);
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.Contains("created network 'cli-yaml': 5 neurons, 6 synapses", created.Output);
        Assert.Equal(0, (await CliRunner.RunAsync("delete", "cli-yaml", "--server", Server)).ExitCode);

        // The server rejects the model; the message points at line 5 of the file, where it is.
        var bad = Path.Combine(_directory, "bad.yaml");
        await File.WriteAllTextAsync(bad, """
            name: cli-yaml-bad
            populations:
              - {name: in, model: input, size: 3}
              - name: out
                model: snntorch.Leaky2
                size: 2
            """);
        var rejected = await CliRunner.RunAsync("create", "--file", bad, "--server", Server);
        Assert.Equal(SnnCli.RpcFailed, rejected.ExitCode);
        Assert.Contains("bad.yaml:5: spec.populations[1].model 'snntorch.Leaky2' is unknown", rejected.Error);

        // A type mistake is found before anything is sent.
        await File.WriteAllTextAsync(bad, "name: x\npopulations:\n  - name: in\n    model: input\n    size: ten\n");
        var typo = await CliRunner.RunAsync("create", "--file", bad, "--server", Server);
        Assert.Equal(SnnCli.UsageError, typo.ExitCode);
        Assert.Contains("bad.yaml:5: populations[0].size: expected an integer, found the string 'ten'", typo.Error);
    }

    [GeneratedRegex(@"(?m)^step \d+ .*$")]
    private static partial Regex StepLine();
}
