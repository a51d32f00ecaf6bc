using Google.Protobuf;
using Snn.Client;
using Snn.FunctionalTests.Api;
using Snn.FunctionalTests.Infrastructure;
using Snn.Protos.V1;
using Snn.Server;

namespace Snn.FunctionalTests.Conformance;

/// <summary>
/// The device backend against the CPU backend through the public API, over a random sequence of everything a client can
/// do to a live network: LOCKSTEP advances with event inputs, the spikes of some populations and recorded state on any instance, parameter and weight
/// edits, resets of one instance or all, snapshots saved and restored, and state read back. Two real servers (Kestrel on
/// loopback) get the same calls; every answer must be the same, byte for byte. Three networks: layers (dense with bias,
/// recurrent, delayed one-to-one, delayed sparse; snntorch.Synaptic, sinabs.LIF), vision (conv2d, sum pool, delayed
/// dense, a recurrent one-to-one; sinabs.ALIF, snntorch.Alpha, nir.CubaLIF) and models (seven more models side by side,
/// snntorch.Leaky with inhibition and norse.LIFAdEx among them). The device server is ILGPU's CPU
/// accelerator with every network on the device, placed at its first step or off the loop (where the step at which it
/// moves onto the device depends on timing: the answers must not).
/// </summary>
public sealed class DeviceDifferentialTests
{
    private const string Net = "diff";
    private const int Instances = 3;

    /// <summary>A network, the populations whose state the session records and reads, and an edit a SetParameters may make.</summary>
    private sealed record Kind(NetworkSpec Spec, int Inputs, string[] Recorded, Func<Random, SetParametersRequest> Edit);

    private static float W(Random rng) => rng.Next(-40, 80) / 64f;

    private static float[] Ws(Random rng, int count, float scale = 1) => [.. Enumerable.Range(0, count).Select(_ => W(rng) * scale)];

    /// <summary>
    /// input 12 → dense with bias → snntorch.Synaptic 10, recurrent dense 10 → 10 (the previous step's spikes), one-to-one
    /// with a delay of 2 → sinabs.LIF 10, and a sparse projection with a delay of 1 from the input into the LIF population.
    /// Weights are multiples of 1/64, as the reference networks' are.
    /// </summary>
    private static Kind Layers(Random rng)
    {
        var spec = new NetworkSpec
        {
            Name = Net,
            Clock = ClockMode.Lockstep,
            Instances = Instances,
            Populations =
            {
                Specs.Population("in", "input", 12),
                Specs.Population("h", "snntorch.Synaptic", 10, ("alpha", Specs.Num(0.75)), ("beta", Specs.Num(0.875))),
                Specs.Population("o", "sinabs.LIF", 10, ("tau_mem", Specs.Num(8))),
            },
            Projections =
            {
                Specs.Dense("w1", "in", "h", Ws(rng, 120), Ws(rng, 10, 0.25f)),
                Specs.Dense("rec", "h", "h", Ws(rng, 100, 0.5f)),
            },
        };
        var delayed = Specs.OneToOne("w2", "h", "o", Ws(rng, 10));
        delayed.DelaySteps = 2;
        spec.Projections.Add(delayed);
        spec.Projections.Add(new ProjectionSpec
        {
            Name = "s", Source = "in", Target = "o", DelaySteps = 1,
            Sparse = new SparseProjection { Pre = { 0, 3, 3, 7, 11, 5 }, Post = { 1, 4, 9, 0, 4, 6 }, Weights = { 0.5f, 1.25f, -0.75f, 2f, 0.375f, 1f } },
        });
        return new Kind(spec, 12, ["h", "o"], r => r.Next(2) == 0
            ? new SetParametersRequest { Network = Net, Populations = { new PopulationParameters { Population = "h", Params = { ["beta"] = Specs.Num(r.Next(40, 63) / 64.0) } } } }
            : new SetParametersRequest { Network = Net, Projections = { new ProjectionWeights { Projection = "w1", Weights = { Ws(r, 120) } } } });
    }

    /// <summary>
    /// input [2,6,6] → conv2d 3×3 (padding 1, bias) → sinabs.ALIF [3,6,6] → sum pool 2×2 → snntorch.Alpha [3,3,3] → dense with
    /// a delay of 1 → nir.CubaLIF 6, which also feeds itself one-to-one (the previous step's spikes).
    /// </summary>
    private static Kind Vision(Random rng)
    {
        var conv = new ProjectionSpec
        {
            Name = "conv", Source = "in", Target = "c",
            Conv2D = new Conv2dProjection { Weights = { Ws(rng, 54) }, KernelSize = { 3, 3 }, Padding = { 1, 1 }, Bias = { Ws(rng, 3, 0.25f) } },
        };
        var pool = new ProjectionSpec { Name = "pool", Source = "c", Target = "p", SumPool2D = new SumPool2dProjection { KernelSize = { 2, 2 } } };
        var dense = Specs.Dense("d", "p", "o", Ws(rng, 27 * 6));
        dense.DelaySteps = 1;
        PopulationSpec Shaped(PopulationSpec p, params uint[] shape)
        {
            p.Shape.Add(shape);
            return p;
        }

        var spec = new NetworkSpec
        {
            Name = Net,
            Clock = ClockMode.Lockstep,
            Instances = Instances,
            Populations =
            {
                Shaped(Specs.Population("in", "input", 72), 2, 6, 6),
                Shaped(Specs.Population("c", "sinabs.ALIF", 108, ("tau_mem", Specs.Num(8)), ("tau_adapt", Specs.Num(16))), 3, 6, 6),
                Shaped(Specs.Population("p", "snntorch.Alpha", 27, ("alpha", Specs.Num(0.875)), ("beta", Specs.Num(0.75))), 3, 3, 3),
                Specs.Population("o", "nir.CubaLIF", 6, Specs.Required("nir.CubaLIF")),
            },
            Projections = { conv, pool, dense, Specs.OneToOne("self", "o", "o", -0.5f, -0.5f, -0.5f, -0.5f, -0.5f, -0.5f) },
        };
        return new Kind(spec, 72, ["c", "p", "o"], r => r.Next(2) == 0
            ? new SetParametersRequest { Network = Net, Populations = { new PopulationParameters { Population = "c", Params = { ["tau_mem"] = Specs.Num(r.Next(6, 14)) } } } }
            : new SetParametersRequest { Network = Net, Projections = { new ProjectionWeights { Projection = "conv", Weights = { Ws(r, 54) }, Bias = { Ws(r, 3, 0.25f) } } } });
    }

    /// <summary>
    /// input 8 → one-to-one into each of snntorch.Leaky with inhibition, snntorch.Lapicque, sinabs.IAF (several spikes
    /// a step), sinabs.ExpLeak, norse.LIF, norse.LSNN and norse.LIFAdEx: every model's state through the same calls.
    /// </summary>
    private static Kind Models(Random rng)
    {
        (string Name, string Model, (string, ParameterValue)[] Parameters)[] models =
        [
            ("leaky", "snntorch.Leaky", [("beta", Specs.Num(0.875)), ("inhibition", Specs.Flag(true))]),
            ("lapicque", "snntorch.Lapicque", [("beta", Specs.Num(0.75))]),
            ("iaf", "sinabs.IAF", [("spike_fn", Specs.Text("MultiSpike"))]),
            ("expleak", "sinabs.ExpLeak", [("tau_mem", Specs.Num(8))]),
            ("lif", "norse.LIF", []),
            ("lsnn", "norse.LSNN", []),
            ("adex", "norse.LIFAdEx", []),
        ];
        var spec = new NetworkSpec { Name = Net, Clock = ClockMode.Lockstep, Instances = Instances, Populations = { Specs.Population("in", "input", 8) } };
        foreach (var (name, model, parameters) in models)
        {
            spec.Populations.Add(Specs.Population(name, model, 8, parameters));
            spec.Projections.Add(Specs.OneToOne($"to-{name}", "in", name, Ws(rng, 8, 2)));
        }

        return new Kind(spec, 8, [.. models.Select(m => m.Name)], r => new SetParametersRequest
        {
            Network = Net,
            Populations = { new PopulationParameters { Population = "leaky", Params = { ["beta"] = Specs.Num(r.Next(40, 63) / 64.0) } } },
        });
    }

    [Theory]
    [InlineData("layers", 1, false)]
    [InlineData("layers", 2, false)]
    [InlineData("layers", 3, true)]
    [InlineData("layers", 4, false)]
    [InlineData("vision", 5, false)]
    [InlineData("vision", 6, true)]
    [InlineData("vision", 7, false)]
    [InlineData("models", 8, false)]
    [InlineData("models", 9, true)]
    public async Task Every_answer_of_a_random_session_is_the_cpu_backends(string kind, int seed, bool placedOffTheLoop)
    {
        Func<Random, Kind> make = kind switch { "layers" => Layers, "vision" => Vision, _ => Models };
        string[] common = ["--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", ""];
        List<string> expected, actual;
        await using (var cpu = await ServerHost.StartAsync([.. TestData.Args(), .. common, "--Snn:Engine:Backend=cpu"]).Within())
        {
            expected = await SessionAsync(cpu, make, seed);
        }

        await using (var gpu = await ServerHost.StartAsync([.. TestData.Args(), .. common, "--Snn:Engine:Backend=ilgpu-cpu", "--Snn:Engine:CpuBelowNeurons=0",
            $"--Snn:Engine:PlaceAsideFromSynapses={(placedOffTheLoop ? 0 : 1 << 20)}"]).Within())
        {
            actual = await SessionAsync(gpu, make, seed);
            Assert.Equal("on the device", await SettledAsync(gpu));
        }

        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i] == actual[i], $"answer {i} differs from the CPU backend's\nCPU:    {expected[i]}\ndevice: {actual[i]}");
        }

        Assert.Contains(expected, a => a.Contains("\"spikes\"", StringComparison.Ordinal)); // something spiked
    }

    /// <summary>
    /// Where the network steps once a device copy made off the loop (at its first step, again after each SetParameters) is
    /// ready: the loop moves it onto the device at its next step, so one step at a time is taken until it has (after the
    /// session, whose answers are compared; how much of the session ran on the device depends on timing, and they must not).
    /// </summary>
    private static async Task<string> SettledAsync(ServerHost host)
    {
        using var client = new SnnClient(host.Address);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            string on = (await client.GetNetworkAsync(new GetNetworkRequest { Name = Net }).Within()).StepsOn;
            if (!on.Contains("while its device copy is made", StringComparison.Ordinal) || DateTime.UtcNow > deadline)
            {
                return on;
            }

            await Task.Delay(50);
            await using var run = await client.OpenRunAsync(new RunOpen { Network = Net }).Within();
            await run.AdvanceAsync(1).Within();
            await run.ReadStepsAsync(1).Within();
            await run.EndAsync();
        }
    }

    /// <summary>A seeded sequence of calls; each answer as protobuf JSON (floats exactly: JSON writes them round-trip).</summary>
    private static async Task<List<string>> SessionAsync(ServerHost host, Func<Random, Kind> make, int seed)
    {
        var rng = new Random(seed);
        var network = make(rng);
        using var client = new SnnClient(host.Address);
        var answers = new List<string>();
        void Answer(string what, IMessage message) => answers.Add($"{what}: {JsonFormatter.Default.Format(message)}");

        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = network.Spec }).Within();
        ulong? snapshot = null;
        for (int op = 0; op < 40; op++)
        {
            int kind = rng.Next(10);
            uint instance = (uint)rng.Next(Instances);
            switch (kind)
            {
                case < 5:
                {
                    // An advance of 1-24 steps (a chain on the device), events at some steps, every state variable recorded, and
                    // the spikes of every population but the input (the default) or of some (the device writes only those for
                    // the host: the snapshots after must still hold every population's).
                    int steps = rng.Next(1, 25);
                    string[] spikesFrom = rng.Next(3) == 0 ? [] : [.. network.Recorded.Where(_ => rng.Next(2) == 0)];
                    await using var run = await client.OpenRunAsync(new RunOpen
                    {
                        Network = Net, Instance = instance, SpikesFrom = { spikesFrom },
                        Record = { network.Recorded.Select(p => new RecordSpec { Population = p, Variables = { "*" } }) },
                    }).Within();
                    var inputs = new List<Input>();
                    for (uint s = 0; s < steps; s++)
                    {
                        if (rng.Next(3) > 0)
                        {
                            var neurons = Enumerable.Range(0, network.Inputs).Where(_ => rng.Next(4) == 0).Select(n => (uint)n).ToArray();
                            inputs.Add(Specs.Events("in", neurons, [.. neurons.Select(_ => rng.Next(1, 9) / 4f)], s));
                        }
                    }

                    await run.AdvanceAsync((uint)steps, inputs).Within();
                    foreach (var step in await run.ReadStepsAsync(steps))
                    {
                        Answer($"run {instance}", step);
                    }

                    await run.EndAsync();
                    break;
                }

                case 5:
                {
                    var request = network.Edit(rng);
                    await client.SetParametersAsync(request).Within();
                    answers.Add("set");
                    break;
                }

                case 6:
                {
                    var request = new ResetStateRequest { Network = Net };
                    if (rng.Next(2) == 0)
                    {
                        request.Instance = instance;
                    }

                    await client.ResetStateAsync(request).Within();
                    answers.Add($"reset {(request.HasInstance ? instance : "all")}");
                    break;
                }

                case 7:
                    snapshot = (await client.SaveSnapshotAsync(new SaveSnapshotRequest { Network = Net }).Within()).Id;
                    answers.Add("saved");
                    break;

                case 8 when snapshot is not null:
                    await client.RestoreSnapshotAsync(new RestoreSnapshotRequest { Network = Net, Snapshot = snapshot.Value }).Within();
                    answers.Add("restored");
                    break;

                default:
                {
                    // All of a population's state, or some neurons of it (the device copies back only those).
                    var population = network.Recorded[rng.Next(network.Recorded.Length)];
                    var request = new GetStateRequest { Network = Net, Instance = instance, Population = population };
                    if (rng.Next(2) == 0)
                    {
                        uint size = network.Spec.Populations.Single(p => p.Name == population).Size;
                        request.Neurons.Add(Enumerable.Range(0, 3).Select(_ => (uint)rng.Next((int)size)));
                    }

                    Answer($"state {instance} {population}", await client.GetStateAsync(request).Within());
                    break;
                }
            }
        }

        foreach (var population in network.Recorded)
        {
            for (uint i = 0; i < Instances; i++)
            {
                Answer($"final {i} {population}", await client.GetStateAsync(new GetStateRequest { Network = Net, Instance = i, Population = population }).Within());
            }
        }

        return answers;
    }
}
