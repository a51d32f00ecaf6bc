using System.Text.Json;
using Snn.FunctionalTests.Infrastructure;
using Snn.Protos.V1;
using Snn.Server.Tests.Nir;

namespace Snn.FunctionalTests.Cli;

/// <summary>
/// <c>snn run --nir-data</c> against a real server: the file h5py reads as nir.read_data does holds the
/// spikes the command printed (EventData: neuron and time in seconds from the first step) and the
/// recorded membrane of every neuron (TimeGriddedData), and the step lines stay free of those traces.
/// </summary>
public sealed class CliNirDataTests(ServerFixture server) : IClassFixture<ServerFixture>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("snn-cli-nir-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Nir_data_holds_the_printed_spikes_and_the_membrane_of_every_neuron()
    {
        const string name = "cli-nir-data";
        var spec = new NetworkSpec { Name = name, Clock = ClockMode.Lockstep, Dt = 0.001 };
        spec.Populations.Add(new PopulationSpec { Name = "in", Model = "input", Size = 6 });
        spec.Populations.Add(new PopulationSpec { Name = "out", Model = "snntorch.Leaky", Size = 6, Params = { ["beta"] = new ParameterValue { Scalar = 0.8 } } });
        spec.Projections.Add(new ProjectionSpec { Name = "ff", Source = "in", Target = "out", OneToOne = new OneToOneProjection() });
        using (var client = server.CreateClient())
            await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec });

        var file = Path.Combine(_directory, "run.nir");
        var run = await CliRunner.RunAsync("run", name, "--steps", "20", "--input", "in:0=0.6@0", "in:1,4=2@3", "in:5=3@12", "--nir-data", file, "--server", server.Address.ToString());
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("wrote " + file, run.Output);

        var printed = new List<(long Neuron, double Time)>();
        foreach (var line in run.Output.Split('\n').Where(l => l.StartsWith("step ", StringComparison.Ordinal)))
        {
            Assert.DoesNotContain("[", line); // the recorded state goes to the file, not the step lines
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts[2] == "out:")
                printed.AddRange(parts[3..].Select(n => (long.Parse(n), int.Parse(parts[1]) * 0.001)));
        }

        Assert.True(printed.Count >= 3, run.Output); // neurons 1 and 4 at step 3, neuron 5 from step 12 (3 is over the threshold more than once)
        using var json = JsonDocument.Parse(NirPython.Run("read_nir_data.py", file));
        var outNode = json.RootElement.GetProperty("out");
        var spikes = outNode.GetProperty("spikes");
        Assert.Equal("EventData", spikes.GetProperty("type").GetString());
        Assert.Equal(6, spikes.GetProperty("n_neurons").GetInt32());
        Assert.Equal(20 * 0.001, spikes.GetProperty("t_max").GetDouble());
        var idx = spikes.GetProperty("idx").GetProperty("values").EnumerateArray().Select(v => v.GetInt64());
        var time = spikes.GetProperty("time").GetProperty("values").EnumerateArray().Select(v => v.GetDouble());
        Assert.Equal(printed, idx.Zip(time).Select(p => (p.First, p.Second)));

        var mem = outNode.GetProperty("mem");
        Assert.Equal("TimeGriddedData", mem.GetProperty("type").GetString());
        Assert.Equal(0.001, mem.GetProperty("dt").GetDouble());
        var data = mem.GetProperty("data");
        Assert.Equal("float32", data.GetProperty("dtype").GetString());
        Assert.Equal([1, 20, 6], data.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        var values = data.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.Equal(0.6, values[0], 1e-6); // neuron 0 at step 0: its input, below the threshold
        Assert.Equal(0.6 * 0.8, values[6], 1e-6); // one step of leak later
        Assert.Equal(0.0, values[1]);

        using (var client = server.CreateClient())
            await client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = name });
    }
}
