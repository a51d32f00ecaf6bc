using Google.Protobuf;
using Snn.Client;
using Snn.FunctionalTests.Api;
using Snn.FunctionalTests.Infrastructure;
using Snn.Protos.V1;
using Snn.Server;

namespace Snn.FunctionalTests.Conformance;

/// <summary>
/// The device backend against the CPU backend through the public API, over a random sequence of everything a client can
/// do to a live network: LOCKSTEP advances with event inputs and recorded state on any instance, parameter and weight
/// edits, resets of one instance or all, snapshots saved and restored, and state read back. Two real servers (Kestrel on
/// loopback) get the same calls; every answer must be the same, byte for byte. The device server is ILGPU's CPU
/// accelerator with every network on the device, once placed at its first step and once placed off the loop (where the
/// step at which it moves onto the device depends on timing: the answers must not).
/// </summary>
public sealed class DeviceDifferentialTests
{
    private const string Net = "diff";
    private const int Instances = 3;

    /// <summary>
    /// input 12 → dense with bias → snntorch.Synaptic 10, recurrent dense 10 → 10 (the previous step's spikes), one-to-one
    /// with a delay of 2 → sinabs.LIF 10, and a sparse projection with a delay of 1 from the input into the LIF population.
    /// Weights are multiples of 1/64, as the reference networks' are.
    /// </summary>
    private static NetworkSpec Spec(Random rng)
    {
        float W() => rng.Next(-40, 80) / 64f;
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
                Specs.Dense("w1", "in", "h", [.. Enumerable.Range(0, 120).Select(_ => W())], [.. Enumerable.Range(0, 10).Select(_ => W() / 4)]),
                Specs.Dense("rec", "h", "h", [.. Enumerable.Range(0, 100).Select(_ => W() / 2)]),
            },
        };
        var delayed = Specs.OneToOne("w2", "h", "o", [.. Enumerable.Range(0, 10).Select(_ => W())]);
        delayed.DelaySteps = 2;
        spec.Projections.Add(delayed);
        var sparse = new ProjectionSpec
        {
            Name = "s", Source = "in", Target = "o", DelaySteps = 1,
            Sparse = new SparseProjection { Pre = { 0, 3, 3, 7, 11, 5 }, Post = { 1, 4, 9, 0, 4, 6 }, Weights = { 0.5f, 1.25f, -0.75f, 2f, 0.375f, 1f } },
        };
        spec.Projections.Add(sparse);
        return spec;
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, true)]
    [InlineData(4, false)]
    [InlineData(5, true)]
    public async Task Every_answer_of_a_random_session_is_the_cpu_backends(int seed, bool placedOffTheLoop)
    {
        string[] common = ["--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", ""];
        List<string> expected, actual;
        await using (var cpu = await ServerHost.StartAsync([.. TestData.Args(), .. common, "--Snn:Engine:Backend=cpu"]).Within())
        {
            expected = await SessionAsync(cpu, seed);
        }

        await using (var gpu = await ServerHost.StartAsync([.. TestData.Args(), .. common, "--Snn:Engine:Backend=ilgpu-cpu", "--Snn:Engine:CpuBelowNeurons=0",
            $"--Snn:Engine:PlaceAsideFromSynapses={(placedOffTheLoop ? 0 : 1 << 20)}"]).Within())
        {
            actual = await SessionAsync(gpu, seed);
            using var client = new SnnClient(gpu.Address);
            Assert.Equal("on the device", (await client.GetNetworkAsync(new GetNetworkRequest { Name = Net }).Within()).StepsOn);
        }

        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i] == actual[i], $"answer {i} differs from the CPU backend's\nCPU:    {expected[i]}\ndevice: {actual[i]}");
        }

        Assert.Contains(expected, a => a.Contains("\"spikes\"", StringComparison.Ordinal)); // something spiked
    }

    /// <summary>A seeded sequence of calls; each answer as protobuf JSON (floats exactly: JSON writes them round-trip).</summary>
    private static async Task<List<string>> SessionAsync(ServerHost host, int seed)
    {
        var rng = new Random(seed);
        using var client = new SnnClient(host.Address);
        var answers = new List<string>();
        void Answer(string what, IMessage message) => answers.Add($"{what}: {JsonFormatter.Default.Format(message)}");

        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Spec(rng) }).Within();
        ulong? snapshot = null;
        for (int op = 0; op < 40; op++)
        {
            int kind = rng.Next(10);
            uint instance = (uint)rng.Next(Instances);
            switch (kind)
            {
                case < 5:
                {
                    // An advance of 1-24 steps (a chain on the device), events at some steps, h's and o's state recorded.
                    int steps = rng.Next(1, 25);
                    await using var run = await client.OpenRunAsync(new RunOpen
                    {
                        Network = Net, Instance = instance,
                        Record = { new RecordSpec { Population = "h", Variables = { "*" } }, new RecordSpec { Population = "o", Variables = { "*" } } },
                    }).Within();
                    var inputs = new List<Input>();
                    for (uint s = 0; s < steps; s++)
                    {
                        if (rng.Next(3) > 0)
                        {
                            var neurons = Enumerable.Range(0, 12).Where(_ => rng.Next(4) == 0).Select(n => (uint)n).ToArray();
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
                    var request = new SetParametersRequest { Network = Net };
                    if (rng.Next(2) == 0)
                    {
                        request.Populations.Add(new PopulationParameters { Population = "h", Params = { ["beta"] = Specs.Num(rng.Next(40, 63) / 64.0) } });
                    }
                    else
                    {
                        request.Projections.Add(new ProjectionWeights { Projection = "w1", Weights = { Enumerable.Range(0, 120).Select(_ => rng.Next(-40, 80) / 64f) } });
                    }

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
                    var population = rng.Next(2) == 0 ? "h" : "o";
                    Answer($"state {instance} {population}",
                        await client.GetStateAsync(new GetStateRequest { Network = Net, Instance = instance, Population = population }).Within());
                    break;
                }
            }
        }

        foreach (var population in new[] { "h", "o" })
        {
            for (uint i = 0; i < Instances; i++)
            {
                Answer($"final {i} {population}", await client.GetStateAsync(new GetStateRequest { Network = Net, Instance = i, Population = population }).Within());
            }
        }

        return answers;
    }
}
