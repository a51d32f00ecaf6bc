using System.Reflection;
using System.Runtime.CompilerServices;
using ILGPU.Runtime;
using Snn.Server.Backends.Cpu;
using Snn.Server.Backends.Gpu;
using Snn.Server.Engine;
using Snn.Server.Models;
using static Snn.Server.Tests.Engine.EngineHarness;

namespace Snn.Server.Tests.Engine;

/// <summary>
/// The ILGPU backend's step allocates nothing of ours on the calling thread. On ILGPU's CPU
/// accelerator each launch itself allocates one object: the generated launcher does
/// <c>new ILGPURuntimeTypeN(...)</c>, the accelerator task that carries the kernel's arguments to
/// its worker threads (CPUAccelerator.GenerateKernelLauncherMethod; CUDA's launcher passes them in a
/// stack struct instead). So the step must allocate exactly one such task per launch, byte for byte,
/// and nothing else: one stray object per step fails the test.
/// </summary>
public sealed class GpuAllocationTests
{
    private static readonly Dictionary<string, ParamValue> Leaky = new() { ["beta"] = ParamValue.Number(0.9) };

    /// <summary>Network, spikes copied back, state copied back (as the step loop does at every step it records).</summary>
    public static TheoryData<string, bool, bool> Cases() => new()
    {
        { "leaky", true, false }, { "leaky", false, false }, { "leaky", true, true }, { "dense", true, false }, { "dense", false, false },
        { "dense", true, true }, { "sparse-conv", true, false }, { "sparse-conv", false, false },
    };

    private static NetworkDefinition Make(string name) => name switch
    {
        "leaky" => Net([Flat("in", "input", 300), new PopulationDefinition("a", "snntorch.Leaky", 300, [], Leaky)], [OneToOne("j", "in", "a")], 2),
        "dense" => Net(
            [Flat("in", "input", 100), Flat("h", "sinabs.IAF", 50), new PopulationDefinition("o", "snntorch.Leaky", 10, [], Leaky)],
            [Dense("w1", "in", "h", Dyadic(new Random(2), 5000), Dyadic(new Random(3), 50)), Dense("w2", "h", "o", Dyadic(new Random(5), 500))], 2),
        _ => Net(
            [Shaped("in", "input", 2, 12, 12), Shaped("conv", "sinabs.IAF", 4, 6, 6), Flat("out", "sinabs.IAF", 30)],
            [
                Conv("c", "in", "conv", Dyadic(new Random(10), 4 * 2 * 3 * 3), [3], stride: [2], padding: [1], bias: Dyadic(new Random(11), 4)),
                Sparse("s", "conv", "out", [0, 3, 3, 7, 7, 7, 20, 49, 49, 2], [1, 1, 1, 5, 6, 5, 29, 0, 1, 1],
                    Dyadic(new Random(13), 10).Select(w => w * 8).ToArray()),
            ], 2),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_step_allocates_only_the_cpu_accelerators_launch_tasks(string name, bool copyBack, bool refresh)
    {
        using var gpu = GpuBackend.Create("ilgpu-cpu", 0, new CpuOptions { Threads = 1 });
        var net = NetworkBuilder.Build(Make(name), new EngineLimits());
        var device = gpu.Find(net);
        Assert.NotNull(device);
        long tasks = TaskBytesPerStep(gpu.Kernels, net);

        int[] due = [0, 1];
        var input = net.Populations[0];
        var rng = new Random(3);
        var drive = Enumerable.Range(0, 8).Select(_ => Enumerable.Range(0, input.Input.Length)
            .Select(_ => rng.NextDouble() < 0.3 ? 1.5f : 0f).ToArray()).ToArray();
        long t = 0;
        long Steps(int n)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int k = 0; k < n; k++, t++)
            {
                // As the step loop feeds it: the input population's rows written and marked.
                drive[t % drive.Length].CopyTo(input.Input, 0);
                input.MarkExternalInput(0);
                input.MarkExternalInput(1);
                device.Step(due, copyBack);
                if (refresh)
                {
                    device.RefreshHost();
                }

                net.Instances[0].Step++;
                net.Instances[1].Step++;
            }

            device.Synchronize();
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        const int N = 200;
        Steps(50); // warm-up: JIT, staging arrays
        long allocated = Steps(N);
        for (int again = 0; again < 3 && allocated != tasks * N; again++)
        {
            allocated = Steps(N); // again, for a stray one-off allocation (JIT tiering) in the window; a CI run once saw two in a row
        }

        Assert.True(allocated == tasks * N,
            $"{name} (spikes back {copyBack}, state back {refresh}): {allocated / (double)N:F1} bytes per step, of which ILGPU's launch tasks are {tasks}");
        device.Step(due, copyBack: true);
        device.RefreshHost();
        Assert.Contains(net.Populations.Skip(1), p => p.Spikes.Any(s => s != 0f)); // the network was doing work
        gpu.Release(net);
    }

    /// <summary>The bytes of the CPU accelerator's task objects that one step of <paramref name="net"/> (every population due) launches.</summary>
    private static long TaskBytesPerStep(DeviceKernelSet k, Network net)
    {
        long bytes = 0;
        foreach (int p in net.Order)
        {
            var pop = net.Populations[p];
            foreach (var j in pop.Incoming)
            {
                if (j is OneToOneProjection && j == pop.Incoming[^1] && !j.IntoRecurrentInput)
                {
                    continue; // applied by the target's neuron kernel
                }

                bytes += TaskBytes(j switch
                {
                    Conv2dProjection => k.Conv2d,
                    SparseProjection => k.Sparse,
                    OneToOneProjection => k.OneToOne,
                    _ => k.DenseFromEvents,
                });
            }

            (Delegate Step, Delegate StepSmall) neuron = pop.Model switch
            {
                StatelessModel => (k.Neuron<StatelessDeviceRule>().Step, k.Neuron<StatelessDeviceRule>().StepSmall),
                _ when pop.Model.Name == "snntorch.Leaky" => (k.Neuron<LeakyDeviceRule>().Step, k.Neuron<LeakyDeviceRule>().StepSmall),
                _ when pop.Model.Name == "sinabs.IAF" => (k.Neuron<SinabsLifDeviceRule>().Step, k.Neuron<SinabsLifDeviceRule>().StepSmall),
                _ => throw new InvalidOperationException($"no kernel listed for {pop.Model.Name}"),
            };

            // One chunk: stepped and compacted by one launch; larger: the step with the chunk counts, then the scans
            // (the tiles' totals too when there is more than one tile of chunks) and the writes.
            int chunks = (pop.Size + k.Chunk - 1) / k.Chunk;
            bytes += pop.Size <= k.Chunk ? TaskBytes(neuron.StepSmall)
                : TaskBytes(neuron.Step) + TaskBytes(k.ScanTiles) + (chunks > k.GroupSize ? TaskBytes(k.ScanTileTotals) : 0) + TaskBytes(k.WriteChunks);
        }

        return bytes;
    }

    /// <summary>The size of the task object ILGPU's CPU launcher allocates per launch of <paramref name="launcher"/>'s kernel.</summary>
    private static long TaskBytes(Delegate launcher)
    {
        var kernel = Assert.IsAssignableFrom<Kernel>(launcher.Target);
        var property = kernel.CompiledKernel.GetType().GetProperty("TaskType", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);
        var type = Assert.IsAssignableFrom<Type>(property?.GetValue(kernel.CompiledKernel));
        RuntimeHelpers.GetUninitializedObject(type);
        long before = GC.GetAllocatedBytesForCurrentThread();
        RuntimeHelpers.GetUninitializedObject(type);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
