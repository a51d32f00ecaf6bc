using Snn.Server.Backends.Cpu;
using Snn.Server.Engine;
using Snn.Server.Models;
using static Snn.Server.Tests.Engine.NetworkBuilderTests;

namespace Snn.Server.Tests.Engine;

public sealed class CpuBackendTests
{
    /// <summary>Builds a network, drives it for some steps with the given backend and returns all state and spikes.</summary>
    private static float[][] Run(CpuBackend backend, string model, Dictionary<string, ParamValue> parameters, int size, int instances, int steps)
    {
        var net = NetworkBuilder.Build(Net([Pop("a", size, model, parameters)], [], instances), new EngineLimits());
        var pop = net.Populations[0];
        var due = Enumerable.Range(0, instances).ToArray();
        var rng = new Random(7);
        var drive = new float[pop.Input.Length];
        for (int i = 0; i < drive.Length; i++)
        {
            drive[i] = (float)(rng.NextDouble() * 0.6 - 0.1);
        }

        for (int t = 0; t < steps; t++)
        {
            drive.CopyTo(pop.Input, 0);
            backend.Step(net, due);
        }

        return [.. pop.State, pop.Spikes];
    }

    [Theory]
    [InlineData("sinabs.LIF", 300_001, 2)]
    [InlineData("snntorch.Leaky", 70_000, 3)]
    public void Splitting_a_step_across_cores_gives_the_same_bits(string model, int size, int instances)
    {
        var parameters = model == "sinabs.LIF"
            ? new Dictionary<string, ParamValue> { ["tau_mem"] = ParamValue.Number(10), ["tau_syn"] = ParamValue.Number(5) }
            : new Dictionary<string, ParamValue> { ["beta"] = ParamValue.Number(0.9), ["inhibition"] = ParamValue.Switch(true) };
        using var single = new CpuBackend(new CpuOptions { Threads = 1 });
        using var split = new CpuBackend(new CpuOptions { Threads = 2, ParallelThreshold = 1024 });

        var a = Run(single, model, parameters, size, instances, 20);
        var b = Run(split, model, parameters, size, instances, 20);

        Assert.Equal(a.Length, b.Length);
        for (int v = 0; v < a.Length; v++)
        {
            Assert.True(a[v].AsSpan().SequenceEqual(b[v]), $"array {v} differs between one and two stepping threads");
        }

        Assert.Contains(a[^1], s => s != 0f); // something spiked
    }

    [Fact]
    public void Stepping_does_not_allocate_even_when_split()
    {
        using var split = new CpuBackend(new CpuOptions { Threads = 2, ParallelThreshold = 1024 });
        var net = NetworkBuilder.Build(Net(
            [Pop("in", 4096, "input"), Pop("a", 4096, "sinabs.LIF", new() { ["tau_mem"] = ParamValue.Number(10) })],
            [OneToOne("j", "in", "a")], instances: 2), new EngineLimits());
        int[] due = [0, 1];
        long Steps(int n)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int t = 0; t < n; t++)
            {
                net.Populations[0].Input.AsSpan().Fill(0.3f);
                split.Step(net, due);
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        // Warm up until one-time lazy initialisation (JIT, the first blocking wait of a sync primitive) is done.
        for (int attempt = 0; attempt < 20 && Steps(100) != 0; attempt++)
        {
        }

        Assert.Equal(0, Steps(1000));
    }
}
