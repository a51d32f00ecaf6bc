using Snn.Server.Backends;
using Snn.Server.Backends.Cpu;
using Snn.Server.Backends.Gpu;
using Snn.Server.Engine;
using Snn.Server.Models;
using static Snn.Server.Tests.Engine.EngineHarness;

namespace Snn.Server.Tests.Engine;

/// <summary>
/// The ILGPU backend's kernels, run on ILGPU's CPU accelerator (the same kernels CUDA runs, less the
/// PTX step), against the CPU backend: every state value and spike equal bit for bit, step by step.
/// </summary>
public sealed class GpuBackendTests : IClassFixture<GpuBackendTests.Backends>
{
    private readonly Backends _backends;

    public GpuBackendTests(Backends backends) => _backends = backends;

    /// <summary>One ilgpu-cpu backend for the class: compiling the kernels takes seconds.</summary>
    public sealed class Backends : IDisposable
    {
        /// <summary>Every network with device kernels on the device, however small (CpuBelowNeurons 0).</summary>
        internal GpuBackend Gpu { get; } = (GpuBackend)ComputeBackends.Create(new EngineOptions { Backend = "ilgpu-cpu", CpuBelowNeurons = 0 }, new CpuOptions());

        internal CpuBackend Cpu { get; } = new(new CpuOptions { Threads = 1 });

        public void Dispose()
        {
            Gpu.Dispose();
            Cpu.Dispose();
        }
    }

    internal static Dictionary<string, ParamValue> P(params (string Name, object Value)[] values) =>
        values.ToDictionary(v => v.Name, v => v.Value switch
        {
            string s => ParamValue.Choice(s),
            bool b => ParamValue.Switch(b),
            float[] a => ParamValue.Numbers(a),
            _ => ParamValue.Number(Convert.ToDouble(v.Value, System.Globalization.CultureInfo.InvariantCulture)),
        });

    internal static PopulationDefinition Pop(string name, string model, int size, Dictionary<string, ParamValue>? p = null) =>
        new(name, model, size, [], p ?? []);

    public static TheoryData<string> Networks() => new(Cases.Keys.Order(StringComparer.Ordinal));

    private static readonly Dictionary<string, Func<NetworkDefinition>> Cases = new()
    {
        // The six generic NIR models (exact exponential integration, the exponentials taken on the host).
        ["nir-generic"] = () => Net(
            [Pop("in", "input", 50), Pop("li", "nir.LI", 50, P(("tau", 0.02), ("r", 4), ("v_leak", 0.1))),
                Pop("lif", "nir.CubaLIF", 20, P(("tau_syn", 0.005), ("tau_mem", 0.01), ("r", 20), ("v_leak", 0), ("v_threshold", 0.2))),
                Pop("i", "nir.I", 20, P(("r", 0.5))), Pop("if", "nir.IF", 20, P(("r", 2), ("v_threshold", 1.5), ("v_reset", -0.25))),
                Pop("lif2", "nir.LIF", 20, P(("tau", 0.01), ("r", 8), ("v_leak", -0.1), ("v_threshold", 0.3))),
                Pop("culi", "nir.CubaLI", 20, P(("tau_syn", 0.004), ("tau_mem", 0.02), ("r", 3), ("v_leak", 0.05), ("w_in", 1.5)))],
            [OneToOne("j", "in", "li"), Dense("w", "li", "lif", Dyadic(new Random(15), 1000)), Dense("wi", "li", "i", Dyadic(new Random(16), 1000)),
                Dense("wf", "li", "if", Dyadic(new Random(17), 1000)), Dense("wl", "lif", "lif2", Dyadic(new Random(18), 400).Select(w => w * 4).ToArray()),
                Dense("wc", "if", "culi", Dyadic(new Random(19), 400))], 2),
        ["leaky"] = () => Net([Pop("in", "input", 300), Pop("a", "snntorch.Leaky", 300, P(("beta", 0.9)))], [OneToOne("j", "in", "a")], 3),
        ["leaky-zero-immediate"] = () => Net(
            [Pop("in", "input", 257), Pop("a", "snntorch.Leaky", 257, P(("beta", 0.8), ("reset_mechanism", "zero"), ("reset_delay", false), ("graded_spikes_factor", 0.5)))],
            [OneToOne("j", "in", "a", Dyadic(new Random(1), 257))], 2),
        ["sinabs-lif-syn-clip"] = () => Net(
            [Pop("in", "input", 1500), Pop("a", "sinabs.LIF", 1500, P(("tau_mem", 10), ("tau_syn", 5), ("min_v_mem", -0.5)))],
            [OneToOne("j", "in", "a")], 2),
        ["sinabs-iaf-reset-single"] = () => Net(
            [Pop("in", "input", 100), Pop("a", "sinabs.IAF", 100, P(("spike_fn", "SingleSpike"), ("reset_fn", "MembraneReset")))],
            [OneToOne("j", "in", "a")], 1),
        ["norse-lif-per-neuron"] = () => Net(
            [Pop("in", "input", 64), Pop("a", "norse.LIF", 64, P(("v_th", Enumerable.Range(0, 64).Select(i => 0.05f + i / 640f).ToArray())))],
            [OneToOne("j", "in", "a")], 2),
        ["dense-bias-delay-recurrent"] = () => Net(
            [Pop("in", "input", 40), Pop("h", "sinabs.LIF", 30, P(("tau_mem", 8))), Pop("o", "snntorch.Leaky", 10, P(("beta", 0.95)))],
            [
                Dense("w1", "in", "h", Dyadic(new Random(2), 30 * 40), Dyadic(new Random(3), 30)),
                Dense("rec", "h", "h", Dyadic(new Random(4), 30 * 30)),
                Dense("w2", "h", "o", Dyadic(new Random(5), 10 * 30), Dyadic(new Random(6), 10), delay: 2, biasOnFirstStep: false),
                OneToOne("skip", "h", "h", Dyadic(new Random(7), 30), delay: 1),
            ], 3),
        ["synaptic-zero-immediate"] = () => Net(
            [Pop("in", "input", 200), Pop("a", "snntorch.Synaptic", 200, P(("alpha", 0.8), ("beta", 0.9), ("reset_mechanism", "zero"), ("reset_delay", false)))],
            [OneToOne("j", "in", "a")], 2),
        ["norse-iaf-dense"] = () => Net(
            [Pop("in", "input", 30), Pop("a", "norse.IAF", 20, P(("v_th", 0.6)))], [Dense("w", "in", "a", Dyadic(new Random(8), 600))], 2),
        ["alpha-subtract"] = () => Net(
            [Pop("in", "input", 90), Pop("a", "snntorch.Alpha", 90, P(("alpha", 0.9), ("beta", 0.8)))], [OneToOne("j", "in", "a")], 2),
        ["alpha-zero"] = () => Net(
            [Pop("in", "input", 90), Pop("a", "snntorch.Alpha", 90, P(("alpha", 0.9), ("beta", 0.8), ("reset_mechanism", "zero")))], [OneToOne("j", "in", "a")], 1),
        ["lapicque"] = () => Net(
            [Pop("in", "input", 70), Pop("a", "snntorch.Lapicque", 70, P(("beta", 0.9)))], [OneToOne("j", "in", "a", Enumerable.Repeat(8f, 70).ToArray())], 2),
        ["rleaky-recurrent"] = () => Net(
            [Pop("in", "input", 40), Pop("a", "snntorch.RLeaky", 40, P(("beta", 0.9), ("reset_delay", false)))],
            [OneToOne("j", "in", "a"), Dense("rec", "a", "a", Dyadic(new Random(9), 1600))], 2),
        ["sinabs-alif-syn"] = () => Net(
            [Pop("in", "input", 80), Pop("a", "sinabs.ALIF", 80, P(("tau_mem", 10), ("tau_adapt", 20), ("tau_syn", 5), ("min_v_mem", -1)))],
            [OneToOne("j", "in", "a", Enumerable.Repeat(4f, 80).ToArray())], 2),
        ["norse-lsnn"] = () => Net(
            [Pop("in", "input", 60), Pop("a", "norse.LSNN", 60, P(("v_th", 0.3)))], [OneToOne("j", "in", "a", Enumerable.Repeat(20f, 60).ToArray())], 2),
        ["conv-pool-dense"] = () => Net(
            [Shaped("in", "input", 2, 12, 12), Shaped("conv", "sinabs.IAF", 4, 6, 6), Shaped("pool", "passthrough", 4, 3, 3), Flat("out", "sinabs.IAF", 5)],
            [
                Conv("c", "in", "conv", Dyadic(new Random(10), 4 * 2 * 3 * 3), [3], stride: [2], padding: [1], bias: Dyadic(new Random(11), 4)),
                Pool("p", "conv", "pool", [2]),
                Dense("fc", "pool", "out", Dyadic(new Random(12), 5 * 36)),
            ], 2),
        // Delays on the projections that skip a source row without spikes: the delay line keeps each slot's count.
        ["conv-pool-sparse-delayed"] = () => Net(
            [Shaped("in", "input", 2, 12, 12), Pop("out", "sinabs.LIF", 30, P(("tau_mem", 6))), Shaped("conv", "sinabs.IAF", 4, 6, 6), Shaped("pool", "passthrough", 4, 3, 3)],
            [
                Conv("c", "in", "conv", Dyadic(new Random(40), 4 * 2 * 3 * 3), [3], stride: [2], padding: [1], bias: Dyadic(new Random(41), 4), delay: 2,
                    biasOnFirstStep: false),
                Pool("p", "conv", "pool", [2], delay: 1),
                Sparse("s", "pool", "out", [0, 3, 3, 7, 7, 20, 35, 35], [1, 1, 5, 6, 5, 29, 0, 1], Dyadic(new Random(42), 8).Select(w => Math.Abs(w) * 64 + 1).ToArray(),
                    bias: Dyadic(new Random(43), 30), delay: 3),
            ], 2),
        ["sparse-with-duplicates"] = () => Net(
            [Pop("in", "input", 50), Pop("a", "sinabs.LIF", 30, P(("tau_mem", 5)))],
            [Sparse("s", "in", "a", [0, 3, 3, 7, 7, 7, 20, 49, 49, 2], [1, 1, 1, 5, 6, 5, 29, 0, 1, 1], Dyadic(new Random(13), 10).Select(w => w * 8).ToArray(),
                bias: Dyadic(new Random(14), 30))], 2),
        ["norse-lifbox-subtract"] = () => Net(
            [Pop("in", "input", 120), Pop("a", "norse.LIFBox", 120, P(("reset_method", "reset_subtract"), ("tau_mem_inv", 300), ("v_leak", 0.1)))],
            [OneToOne("j", "in", "a", Enumerable.Repeat(2f, 120).ToArray())], 2),
        ["norse-libox-dense-graded"] = () => Net(
            [Pop("in", "input", 50), Pop("li", "norse.LIBox", 40, P(("tau_mem_inv", 250), ("v_leak", 0.05))), Pop("o", "norse.LIFBox", 30)],
            [Dense("w1", "in", "li", Dyadic(new Random(15), 40 * 50)), Dense("w2", "li", "o", Dyadic(new Random(16), 30 * 40).Select(w => w * 4).ToArray())], 2),
        ["sinabs-expleak-clip-dense"] = () => Net(
            [Pop("in", "input", 60), Pop("e", "sinabs.ExpLeak", 48, P(("tau_mem", 5), ("norm_input", true), ("min_v_mem", -0.25))), Pop("o", "sinabs.IAF", 20)],
            [Dense("w1", "in", "e", Dyadic(new Random(17), 48 * 60)), Dense("w2", "e", "o", Dyadic(new Random(18), 20 * 48))], 2),
        ["rsynaptic-recurrent-zero"] = () => Net(
            [Pop("in", "input", 40), Pop("a", "snntorch.RSynaptic", 40, P(("alpha", 0.8), ("beta", 0.9), ("reset_mechanism", "zero"), ("reset_delay", false)))],
            [OneToOne("j", "in", "a"), Dense("rec", "a", "a", Dyadic(new Random(19), 1600), Dyadic(new Random(20), 40))], 2),
        ["rsynaptic-one-to-one-subtract"] = () => Net(
            [Pop("in", "input", 40), Pop("a", "snntorch.RSynaptic", 40, P(("alpha", 0.7), ("beta", 0.85), ("threshold", 0.9)))],
            [OneToOne("j", "in", "a"), OneToOne("rec", "a", "a", Dyadic(new Random(21), 40))], 2),
        // Inhibition: the rule leaves the reset signal, the inhibition pass picks the one neuron that may fire.
        ["leaky-inhibition-immediate"] = () => Net(
            [Pop("in", "input", 300), Pop("a", "snntorch.Leaky", 300, P(("beta", 0.9), ("inhibition", true), ("reset_delay", false), ("graded_spikes_factor", 0.5)))],
            [OneToOne("j", "in", "a", Enumerable.Range(0, 300).Select(n => 1f + (n % 3) / 4f).ToArray())], 2),
        ["synaptic-inhibition-zero"] = () => Net(
            [Pop("in", "input", 50), Pop("a", "snntorch.Synaptic", 50, P(("alpha", 0.7), ("beta", 0.9), ("inhibition", true), ("reset_mechanism", "zero")))],
            [OneToOne("j", "in", "a")], 2),
        ["alpha-lapicque-inhibition"] = () => Net(
            [Pop("in", "input", 60), Pop("al", "snntorch.Alpha", 60, P(("alpha", 0.9), ("beta", 0.8), ("inhibition", true))),
                Pop("la", "snntorch.Lapicque", 60, P(("beta", 0.9), ("inhibition", true)))],
            [OneToOne("j", "in", "al"), OneToOne("k", "in", "la", Enumerable.Repeat(8f, 60).ToArray())], 2),
        ["rleaky-inhibition"] = () => Net(
            [Pop("in", "input", 40), Pop("a", "snntorch.RLeaky", 40, P(("beta", 0.9), ("inhibition", true), ("reset_delay", false)))],
            [OneToOne("j", "in", "a"), Dense("rec", "a", "a", Dyadic(new Random(23), 1600))], 2),
        ["rsynaptic-inhibition"] = () => Net(
            [Pop("in", "input", 40), Pop("a", "snntorch.RSynaptic", 40, P(("alpha", 0.8), ("beta", 0.9), ("inhibition", true)))],
            [OneToOne("j", "in", "a"), OneToOne("rec", "a", "a", Dyadic(new Random(22), 40))], 2),
        // Its exponential is the accelerator's: on ILGPU's CPU accelerator, the CPU's.
        ["norse-lifadex"] = () => Net(
            [Pop("in", "input", 50), Pop("a", "norse.LIFAdEx", 50)], [OneToOne("j", "in", "a", Enumerable.Repeat(20f, 50).ToArray())], 2),
    };

    [Theory]
    [MemberData(nameof(Networks))]
    public void Device_kernels_give_the_cpu_bits(string name)
    {
        var definition = Cases[name]();
        var cpu = NetworkBuilder.Build(definition, new EngineLimits());
        var gpu = NetworkBuilder.Build(definition, new EngineLimits());
        Assert.Equal(!name.StartsWith("cpu-fallback", StringComparison.Ordinal), _backends.Gpu.OnDevice(gpu));

        var rng = new Random(11);
        int instances = definition.Instances;
        for (int t = 0; t < 40; t++)
        {
            // Some steps leave an instance out (LOCKSTEP instances advance independently).
            var due = Enumerable.Range(0, instances).Where(i => t % 7 != 3 || i != instances - 1).ToArray();
            var drive = Enumerable.Range(0, instances).Select(_ => Drive(rng, definition.Populations[0].Size, t)).ToArray();
            Step(_backends.Cpu, cpu, due, drive);
            Step(_backends.Gpu, gpu, due, drive);
            Compare(cpu, gpu, $"{name}, step {t}");
            if (t == 20)
            {
                // A reset of one instance mid-run, as the loop does it.
                _backends.Gpu.RefreshHost(gpu);
                foreach (var p in cpu.Populations)
                {
                    p.Reset(0);
                }

                foreach (var p in gpu.Populations)
                {
                    p.Reset(0);
                }

                cpu.Instances[0].Step = gpu.Instances[0].Step = 0;
                _backends.Gpu.HostEdited(gpu, HostEdit.State);
            }
        }

        Assert.Contains(gpu.Populations[^1].Spikes, s => s != 0f);
        _backends.Gpu.Release(gpu);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Dense_sums_give_the_cpu_bits_by_either_kernel(bool tiled)
    {
        // Weights that are not dyadic, so that a sum taken in any other order than the CPU's differs in its last bits;
        // more sources than a tile holds (64 on a GPU; the CPU accelerator's groups are smaller), 3 instances, one left
        // out of some steps, a bias, and the target's own spikes fed back.
        var rng = new Random(21);
        float[] Weights(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.45)).ToArray();
        var definition = Net(
            [Pop("in", "input", 300), Pop("h", "snntorch.Leaky", 45, P(("beta", 0.9))), Pop("o", "sinabs.LIF", 7, P(("tau_mem", 10)))],
            [Dense("w", "in", "h", Weights(300 * 45), Weights(45)), Dense("v", "h", "o", Weights(45 * 7)), Dense("r", "h", "h", Weights(45 * 45))], 3);
        using var gpu = (GpuBackend)ComputeBackends.Create(new EngineOptions { Backend = "ilgpu-cpu", CpuBelowNeurons = 0 }, new CpuOptions());
        gpu.DenseTiledBelowTargets = tiled ? long.MaxValue : 0;
        var onCpu = NetworkBuilder.Build(definition, new EngineLimits());
        var onGpu = NetworkBuilder.Build(definition, new EngineLimits());
        Assert.True(gpu.OnDevice(onGpu));
        for (int t = 0; t < 25; t++)
        {
            var due = Enumerable.Range(0, 3).Where(i => t % 5 != 2 || i != 1).ToArray();
            var drive = Enumerable.Range(0, 3).Select(_ => Drive(rng, 300, t)).ToArray();
            Step(_backends.Cpu, onCpu, due, drive);
            Step(gpu, onGpu, due, drive);
            Compare(onCpu, onGpu, $"{(tiled ? "tiled" : "a thread per target")}, step {t}");
        }

        Assert.Contains(onGpu.Populations[2].Spikes, s => s != 0f);
        gpu.Release(onGpu);
    }

    internal static float[] Drive(Random rng, int size, int t) =>
        Enumerable.Range(0, size).Select(_ => rng.NextDouble() < 0.3 ? (float)(rng.NextDouble() * 1.5) : 0f).ToArray();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Chained_steps_give_each_step_the_spikes_and_state_of_stepping_one_by_one(bool mapped)
    {
        // Mapped: the kernels write page-locked host lists (CUDA, CPU accelerator); not: device lists copied back (OpenCL's path).
        using var gpu = GpuBackend.Create("ilgpu-cpu", 0, new CpuOptions { Threads = 1 });
        gpu.MapsHostMemory = mapped;
        var definition = Net(
            [Pop("in", "input", 150), Pop("h", "sinabs.LIF", 130, P(("tau_mem", 8))), Pop("o", "snntorch.Leaky", 20, P(("beta", 0.95)))],
            [
                Dense("w1", "in", "h", Dyadic(new Random(2), 130 * 150), Dyadic(new Random(3), 130)),
                Dense("rec", "h", "h", Dyadic(new Random(4), 130 * 130)),
                Dense("w2", "h", "o", Dyadic(new Random(5), 20 * 130), Dyadic(new Random(6), 20), delay: 2, biasOnFirstStep: false),
            ], 3);
        var cpuNet = NetworkBuilder.Build(definition, new EngineLimits());
        var gpuNet = NetworkBuilder.Build(definition, new EngineLimits());
        var rng = new Random(21);
        for (int chain = 0; chain < 7; chain++)
        {
            // First a single step with no chain (as the loop's first step of a network), so that the
            // chains after it grow the slots over buffers made for one.
            int[] due = chain % 3 == 1 ? [0, 2] : [0, 1, 2];
            int k = chain == 0 ? 1 : gpu.BeginChain(gpuNet, chain + 1);
            Assert.Equal(chain + 1, k);
            int half = k / 2;
            var expected = EnqueueChain(gpu, cpuNet, gpuNet, due, k, rng, s =>
            {
                if (s == half - 1)
                {
                    gpu.Send(gpuNet); // the first half starts while the second is prepared
                }
            });

            // The first half's spikes before the chain completes where the backend can wait for a part (mapped lists).
            gpu.Send(gpuNet);
            bool early = half > 0 && gpu.WaitFor(gpuNet, half);
            Assert.Equal(mapped && half > 0, early);
            if (early)
            {
                AssertChainSpikes(gpu, gpuNet, due, expected.Take(half).ToList(), $"chain {chain}, its first half");
            }

            gpu.Complete(gpuNet);
            AssertChainSpikes(gpu, gpuNet, due, expected, $"chain {chain}");
        }

        gpu.RefreshHost(gpuNet);
        Compare(cpuNet, gpuNet, "after the chains");
        Assert.Contains(gpuNet.Populations[^1].Spikes, x => x != 0f);
        gpu.Release(gpuNet);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void External_input_sent_as_event_lists_gives_the_cpus_steps(bool mapped)
    {
        // Events into a fused (one chunk) input population, whose kernel writes them itself, an unfused
        // one, and straight into a neuron population that also has a projection into it (events first,
        // then the projection adds); repeats, an instance with more events than its list holds (sent
        // whole), a dense row; steps alone and in chains. Mapped: a step alone reads the pinned event
        // lists in place; not: copied first (OpenCL's path).
        using var own = mapped ? null : GpuBackend.Create("ilgpu-cpu", 0, new CpuOptions { Threads = 1 });
        var gpu = own ?? _backends.Gpu;
        if (own is not null)
        {
            own.MapsHostMemory = false;
        }

        var definition = Net(
            [Pop("small", "input", 40), Pop("big", "input", 300), Pop("a", "snntorch.Leaky", 300, P(("beta", 0.9)))],
            [OneToOne("j", "big", "a"), Dense("w", "small", "a", Dyadic(new Random(31), 300 * 40))], 2);
        var cpuNet = NetworkBuilder.Build(definition, new EngineLimits());
        var gpuNet = NetworkBuilder.Build(definition, new EngineLimits());
        var rng = new Random(17);
        int[] due = [0, 1];
        int t = 0;

        // Steps alone and in chains (whose event lists go to the device in one copy before the first step).
        foreach (int chain in new[] { 1, 3, 1, 4, 1, 2 })
        {
            int k = chain == 1 ? 1 : gpu.BeginChain(gpuNet, chain);
            Assert.Equal(chain, k);
            var expected = new List<float[][]>();
            for (int s = 0; s < k; s++, t++)
            {
                var plan = new List<(int Pop, int Instance, int Neuron, float Value)>();
                foreach (int pop in new[] { 0, 1, 2 })
                {
                    int size = cpuNet.Populations[pop].Size;
                    foreach (int i in due)
                    {
                        int events = t % 4 == 3 && i == 1 ? size : rng.Next(0, 12); // all of them: more than the list holds
                        for (int e = 0; e < events; e++)
                        {
                            int n = e < 3 ? 7 : rng.Next(size); // neuron 7 three times
                            plan.Add((pop, i, n, rng.Next(1, 9) / 4f));
                        }
                    }
                }

                foreach (var net in new[] { cpuNet, gpuNet })
                {
                    foreach (var p in net.Populations)
                    {
                        foreach (int i in due)
                        {
                            p.Slice(p.Input, i).Clear();
                            p.InputMarksIfAny?.Clear(i);
                        }
                    }

                    foreach (var (pop, i, n, v) in plan)
                    {
                        var p = net.Populations[pop];
                        p.Slice(p.Input, i)[n] += v;
                        p.InputMarks.MarkEvent(i, n);
                    }

                    if (t % 5 == 2)
                    {
                        var p = net.Populations[1];
                        p.Slice(p.Input, 0).Fill(0.25f); // a dense current on top of the events
                        p.MarkExternalInput(0);
                    }
                }

                _backends.Cpu.Step(cpuNet, due);
                if (k == 1)
                {
                    gpu.Step(gpuNet, due);
                }
                else
                {
                    gpu.Enqueue(gpuNet, due, s);
                }

                // The backend took the external input and left the host rows zero (the loop does not clear them again).
                Assert.True(gpu.KeepsHostInputsZero(gpuNet));
                Assert.All(gpuNet.Populations, p => Assert.True(p.Input.All(v => v == 0f), $"'{p.Name}' input row left non-zero at step {t}"));

                expected.Add(cpuNet.Populations.Select(p => p.Spikes.ToArray()).ToArray());
                foreach (int i in due)
                {
                    cpuNet.Instances[i].Step++;
                    gpuNet.Instances[i].Step++;
                }
            }

            if (k > 1)
            {
                gpu.Complete(gpuNet);
                AssertChainSpikes(gpu, gpuNet, due, expected, $"chain of {k} ending at step {t - 1}");
            }

            gpu.RefreshHost(gpuNet);
            Compare(cpuNet, gpuNet, $"step {t - 1}");
        }

        Assert.Contains(gpuNet.Populations[2].Spikes, x => x != 0f);
        gpu.Release(gpuNet);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Spikes_nobody_reads_stay_on_the_device_and_the_host_arrays_still_get_them(bool mapped)
    {
        // The loop names the populations whose spikes its sinks read (ReadSpikes) before each chain: only theirs are
        // written for the host. The rest stay on the device, compacted where a projection reads them ('h', 'in'),
        // not at all where nothing does ('o', 's'); a RefreshHost still brings every population's latest spikes back,
        // whichever chain last wrote or skipped the host's lists of each instance. 's' spans several chunks.
        using var gpu = GpuBackend.Create("ilgpu-cpu", 0, new CpuOptions { Threads = 1 });
        gpu.MapsHostMemory = mapped;
        gpu.CpuBelowNeurons = 0;
        var definition = Net(
            [Pop("in", "input", 150), Pop("h", "sinabs.LIF", 130, P(("tau_mem", 8))), Pop("o", "snntorch.Leaky", 20, P(("beta", 0.95))),
                Pop("s", "snntorch.Leaky", 700, P(("beta", 0.9)))],
            [
                Dense("w1", "in", "h", Dyadic(new Random(2), 130 * 150), Dyadic(new Random(3), 130)),
                Dense("rec", "h", "h", Dyadic(new Random(4), 130 * 130)),
                Dense("w2", "h", "o", Dyadic(new Random(5), 20 * 130)),
                Dense("w3", "in", "s", Dyadic(new Random(6), 700 * 150).Select(w => w * 2).ToArray()),
            ], 3);
        var cpuNet = NetworkBuilder.Build(definition, new EngineLimits());
        var gpuNet = NetworkBuilder.Build(definition, new EngineLimits());
        Assert.True(gpu.OnDevice(gpuNet));
        var rng = new Random(41);
        bool[][] reads = [[false, false, false, false], [false, false, true, false], [false, true, false, true], [true, true, true, true], [false, false, false, true]];
        for (int chain = 0; chain < 10; chain++)
        {
            var read = reads[chain % reads.Length];
            int[] due = chain % 3 == 2 ? [1] : [0, 1, 2];
            gpu.ReadSpikes(gpuNet, read);
            int k = gpu.BeginChain(gpuNet, 1 + chain % 4);
            var expected = EnqueueChain(gpu, cpuNet, gpuNet, due, k, rng);
            gpu.Send(gpuNet);
            gpu.Complete(gpuNet);
            AssertChainSpikes(gpu, gpuNet, due, expected, $"chain {chain}", read);

            if (chain % 2 == 1)
            {
                gpu.RefreshHost(gpuNet);
                Compare(cpuNet, gpuNet, $"after chain {chain}");
            }
        }

        gpu.RefreshHost(gpuNet);
        Compare(cpuNet, gpuNet, "after the chains");
        Assert.Contains(gpuNet.Populations[2].Spikes, x => x != 0f);
        Assert.Contains(gpuNet.Populations[3].Spikes, x => x != 0f);
        gpu.Release(gpuNet);
    }

    /// <summary>
    /// <paramref name="k"/> steps of the due instances, each with a fresh drive of the 150 inputs, stepped on the CPU backend and
    /// enqueued on the device into slots 0, 1, ... (<paramref name="afterStep"/> after each); the CPU's spike rows of each step.
    /// </summary>
    private List<float[][]> EnqueueChain(GpuBackend gpu, Network cpuNet, Network gpuNet, int[] due, int k, Random rng, Action<int>? afterStep = null)
    {
        var expected = new List<float[][]>();
        for (int s = 0; s < k; s++)
        {
            var drive = Enumerable.Range(0, 3).Select(_ => Drive(rng, 150, 0)).ToArray();
            Feed(cpuNet, due, drive);
            Feed(gpuNet, due, drive);
            _backends.Cpu.Step(cpuNet, due);
            gpu.Enqueue(gpuNet, due, s);
            expected.Add(cpuNet.Populations.Select(p => p.Spikes.ToArray()).ToArray());
            foreach (int i in due)
            {
                cpuNet.Instances[i].Step++;
                gpuNet.Instances[i].Step++;
            }

            afterStep?.Invoke(s);
        }

        return expected;
    }

    /// <summary>
    /// Each step of a completed chain: every population's spike list of every due instance equals the CPU's row of that step;
    /// where <paramref name="read"/> leaves a population out (ReadSpikes), asking for its lists is refused, naming it.
    /// </summary>
    private static void AssertChainSpikes(GpuBackend gpu, Network gpuNet, int[] due, List<float[][]> expected, string chain, bool[]? read = null)
    {
        for (int s = 0; s < expected.Count; s++)
        {
            foreach (var pop in gpuNet.Populations)
            {
                foreach (int i in due)
                {
                    if (read is not null && !read[pop.Index])
                    {
                        var refused = Assert.Throws<InvalidOperationException>(() => gpu.TryGetSpikes(gpuNet, pop, i, s, out _));
                        Assert.Contains($"'{pop.Name}'", refused.Message, StringComparison.Ordinal);
                        continue;
                    }

                    Assert.True(gpu.TryGetSpikes(gpuNet, pop, i, s, out var list));
                    var row = new float[pop.Size];
                    for (int n = 0; n < list.Indices.Length; n++)
                    {
                        row[list.Indices[n]] = list.Values[n];
                    }

                    Assert.True(expected[s][pop.Index].AsSpan(i * pop.Size, pop.Size).SequenceEqual(row),
                        $"{chain}, step {s}: spikes of '{pop.Name}' instance {i} differ");
                }
            }
        }
    }

    /// <summary>The step loop's intake: the due instances' inputs cleared, then the input population's rows written and marked.</summary>
    internal static void Feed(Network net, int[] due, float[][] drive)
    {
        foreach (var p in net.Populations)
        {
            foreach (int i in due)
            {
                p.Slice(p.Input, i).Clear();
            }
        }

        var input = net.Populations[0];
        foreach (int i in due)
        {
            drive[i].CopyTo(input.Slice(input.Input, i));
            input.MarkExternalInput(i);
        }
    }

    internal static void Step(IComputeBackend backend, Network net, int[] due, float[][] drive)
    {
        foreach (var p in net.Populations)
        {
            foreach (int i in due)
            {
                p.Slice(p.Input, i).Clear();
                if (p.RecurrentInput.Length > 0)
                {
                    p.Slice(p.RecurrentInput, i).Clear();
                }
            }
        }

        var input = net.Populations[0];
        foreach (int i in due)
        {
            drive[i].CopyTo(input.Slice(input.Input, i));
            input.MarkExternalInput(i);
        }

        backend.Step(net, due);
        backend.RefreshHost(net);
        foreach (int i in due)
        {
            net.Instances[i].Step++;
        }
    }

    internal static void Compare(Network cpu, Network gpu, string where)
    {
        for (int p = 0; p < cpu.Populations.Length; p++)
        {
            var a = cpu.Populations[p];
            var b = gpu.Populations[p];
            Assert.True(a.Spikes.AsSpan().SequenceEqual(b.Spikes), $"{where}: spikes of '{a.Name}' differ");
            for (int v = 0; v < a.State.Length; v++)
            {
                var x = a.State[v];
                var y = b.State[v];
                for (int k = 0; k < x.Length; k++)
                {
                    Assert.True(BitConverter.SingleToInt32Bits(x[k]) == BitConverter.SingleToInt32Bits(y[k]),
                        $"{where}: {a.Model.StateVariables[v]}[{k}] of '{a.Name}' is {y[k]:R} on the device, {x[k]:R} on the CPU");
                }
            }
        }
    }

    [Fact]
    public void A_state_edit_uploads_the_state_alone_and_a_parameter_edit_the_weights_too()
    {
        // A reset (HostEdit.State) leaves the device's weights as they were (their upload regroups them on the host:
        // seconds for 100M); SetParameters (HostEdit.Parameters) uploads them. Told apart by weights changed on
        // the host behind the backend's back: only a parameter edit may bring them to the device.
        var definition = Net([Pop("in", "input", 60), Pop("h", "sinabs.LIF", 40, P(("tau_mem", 8)))],
            [Dense("w", "in", "h", Dyadic(new Random(31), 40 * 60), Dyadic(new Random(32), 40))], 2);
        var gpu = NetworkBuilder.Build(definition, new EngineLimits());
        var before = NetworkBuilder.Build(definition, new EngineLimits()); // the CPU with the weights the device holds
        var after = NetworkBuilder.Build(definition, new EngineLimits()); // the CPU with the new weights
        var newWeights = Dyadic(new Random(33), 40 * 60);
        after.Projections[0].Install(after.Projections[0].PrepareWeights(newWeights, null, "w"));
        var rng = new Random(34);
        int[] both = [0, 1];
        void StepAll(Network expected, string where)
        {
            for (int t = 0; t < 8; t++)
            {
                var drive = Enumerable.Range(0, 2).Select(_ => Drive(rng, 60, t)).ToArray();
                Step(_backends.Cpu, expected, both, drive);
                Step(_backends.Gpu, gpu, both, drive);
                Compare(expected, gpu, $"{where}, step {t}");
            }
        }

        StepAll(before, "before the edits");
        gpu.Projections[0].Install(gpu.Projections[0].PrepareWeights(newWeights, null, "w"));
        Reset(_backends.Gpu, gpu, HostEdit.State);
        Reset(_backends.Cpu, before, HostEdit.State);
        StepAll(before, "after a reset");

        Reset(_backends.Gpu, gpu, HostEdit.Parameters);
        CopyState(gpu, after);
        StepAll(after, "after SetParameters");
        Assert.Contains(gpu.Populations[1].Spikes, x => x != 0f);
        _backends.Gpu.Release(gpu);
    }

    [Fact]
    public void An_instance_reset_on_the_device_alone_leaves_the_others_as_they_were()
    {
        // As the loop resets an instance (RunOpen.reset): its host arrays set whole, nothing read back first, while
        // the device is ahead of the host for every instance. Delays and a recurrent projection carry the past.
        var definition = Cases["dense-bias-delay-recurrent"]();
        var cpu = NetworkBuilder.Build(definition, new EngineLimits());
        var gpu = NetworkBuilder.Build(definition, new EngineLimits());
        var rng = new Random(35);
        StepBehind(cpu, gpu, rng, 7);
        foreach (var net in new[] { cpu, gpu })
        {
            foreach (var p in net.Populations)
            {
                p.Reset(1);
            }

            net.Instances[1].Step = 0;
        }

        _backends.Gpu.InstanceReset(gpu, 1);
        ((IComputeBackend)_backends.Cpu).InstanceReset(cpu, 1); // nothing to do: its host arrays are its state
        StepBehind(cpu, gpu, rng, 9);
        _backends.Gpu.RefreshHost(gpu);
        Compare(cpu, gpu, "after instance 1 was reset between steps");
        Assert.Contains(gpu.Populations[^1].Slice(gpu.Populations[^1].Spikes, 1).ToArray(), x => x != 0f);
        _backends.Gpu.Release(gpu);
    }

    [Fact]
    public void A_recorded_state_crosses_to_the_host_alone()
    {
        // What a step records is copied back; the rest of the host arrays stay behind the device.
        var definition = Cases["dense-bias-delay-recurrent"]();
        var cpu = NetworkBuilder.Build(definition, new EngineLimits());
        var gpu = NetworkBuilder.Build(definition, new EngineLimits());
        StepBehind(cpu, gpu, new Random(36), 6);

        var hidden = gpu.Populations[1]; // sinabs.LIF
        var stale = hidden.Slice(hidden.State[0], 0).ToArray();
        var staleEdges = hidden.Slice(hidden.State[0], 2).ToArray();
        _backends.Gpu.RefreshStates(gpu, [new StateSlice(1, 0, 2, 5, 20), new StateSlice(2, 0, 1, 0, 10)]);

        var expected = cpu.Populations[1].Slice(cpu.Populations[1].State[0], 2).ToArray();
        var got = hidden.Slice(hidden.State[0], 2).ToArray();
        Assert.Equal(expected[5..25], got[5..25]);
        Assert.Equal(staleEdges[..5], got[..5]); // outside the span asked for: not copied
        Assert.Equal(staleEdges[25..], got[25..]);
        Assert.NotEqual(expected[..5], got[..5]);
        Assert.Equal(cpu.Populations[2].Slice(cpu.Populations[2].State[0], 1).ToArray(), gpu.Populations[2].Slice(gpu.Populations[2].State[0], 1).ToArray());
        Assert.Equal(stale, hidden.Slice(hidden.State[0], 0).ToArray()); // another instance: not copied
        Assert.NotEqual(cpu.Populations[1].Slice(cpu.Populations[1].State[0], 0).ToArray(), stale);

        _backends.Gpu.RefreshHost(gpu); // everything, when everything is read
        Compare(cpu, gpu, "after the whole refresh");
        _backends.Gpu.Release(gpu);
    }

    /// <summary>
    /// <paramref name="steps"/> steps of the three instances of a network with 40 inputs on both backends, the
    /// device's host arrays left behind it (no <see cref="IComputeBackend.RefreshHost"/>).
    /// </summary>
    private void StepBehind(Network cpu, Network gpu, Random rng, int steps)
    {
        int[] all = [0, 1, 2];
        for (int t = 0; t < steps; t++)
        {
            var drive = Enumerable.Range(0, 3).Select(_ => Drive(rng, 40, t)).ToArray();
            Feed(cpu, all, drive);
            Feed(gpu, all, drive);
            _backends.Cpu.Step(cpu, all);
            _backends.Gpu.Step(gpu, all);
            foreach (int i in all)
            {
                cpu.Instances[i].Step++;
                gpu.Instances[i].Step++;
            }
        }
    }

    /// <summary>A reset of instance 0 as the loop makes it, told to the backend as <paramref name="edit"/>.</summary>
    private static void Reset(IComputeBackend backend, Network net, HostEdit edit)
    {
        backend.RefreshHost(net);
        foreach (var p in net.Populations)
        {
            p.Reset(0);
        }

        net.Instances[0].Step = 0;
        backend.HostEdited(net, edit);
    }

    /// <summary>The state, spikes and steps of <paramref name="from"/> (host arrays current) into <paramref name="to"/>.</summary>
    private static void CopyState(Network from, Network to)
    {
        for (int p = 0; p < from.Populations.Length; p++)
        {
            for (int v = 0; v < from.Populations[p].State.Length; v++)
            {
                from.Populations[p].State[v].CopyTo(to.Populations[p].State[v], 0);
            }

            from.Populations[p].Spikes.CopyTo(to.Populations[p].Spikes, 0);
        }

        for (int i = 0; i < from.Instances.Length; i++)
        {
            to.Instances[i].Step = from.Instances[i].Step;
        }
    }

    [Fact]
    public void Networks_small_enough_by_neurons_and_connections_together_step_on_the_cpu_backend()
    {
        using var gpu = GpuBackend.Create("ilgpu-cpu", 0, new CpuOptions { Threads = 1 });
        gpu.CpuBelowNeurons = 1000;
        gpu.CpuBelowConnections = 1000;
        Network Make(int size, int instances, bool dense = false, NetworkPlacement placement = NetworkPlacement.Auto) =>
            NetworkBuilder.Build(Net([Pop("in", "input", size), Pop("a", "snntorch.Leaky", size, P(("beta", 0.9)))],
                [dense ? Dense("j", "in", "a", new float[size * size]) : OneToOne("j", "in", "a")], instances) with { Placement = placement },
                new EngineLimits());

        // Share of each count of its threshold, over all instances: below 1 in sum steps on the CPU backend.
        var small = Make(100, 2); // 400/1000 + 200/1000 = 0.6
        var byNeurons = Make(300, 2); // 1,200/1000 + 600/1000
        var byConnections = Make(30, 2, dense: true); // 120/1000 + 1,800/1000
        var bySum = Make(200, 2); // 800/1000 + 400/1000 = 1.2: each count below its threshold, not the two together
        var denseOne = Make(30, 1, dense: true); // 60/1000 + 900/1000 = 0.96
        var asked = Make(100, 2, placement: NetworkPlacement.Device);
        Assert.False(gpu.OnDevice(small));
        Assert.False(gpu.OnDevice(denseOne));
        Assert.True(gpu.OnDevice(byNeurons));
        Assert.True(gpu.OnDevice(byConnections));
        Assert.True(gpu.OnDevice(bySum));
        Assert.True(gpu.OnDevice(asked)); // PLACEMENT_DEVICE: whatever its size
        Assert.Equal("on the CPU backend, small enough to step faster there: 400 neurons / 1,000 + 200 connections / 1,000 = 0.60, below 1 " +
            "(Snn:Engine:CpuBelowNeurons, Snn:Engine:CpuBelowConnections; PLACEMENT_DEVICE puts it on the device)", small.StepsOn);
        Assert.StartsWith("on the CPU backend, small enough to step faster there: 60 neurons / 1,000 + 900 connections", denseOne.StepsOn, StringComparison.Ordinal);

        // 0 in either setting turns the rule off.
        gpu.CpuBelowConnections = 0;
        var off = Make(100, 2);
        Assert.True(gpu.OnDevice(off));
        foreach (var net in new[] { byNeurons, byConnections, bySum, asked, off })
        {
            gpu.Release(net);
        }
    }

    [Fact]
    public void Connections_count_each_output_window_of_conv_and_pool_and_every_weight_else()
    {
        var net = NetworkBuilder.Build(Net([Shaped("in", "input", 2, 8, 8), Shaped("c", "sinabs.IAF", 3, 4, 4), Shaped("p", "sinabs.IAF", 3, 2, 2),
            Flat("d", "sinabs.IAF", 5), Flat("o", "sinabs.IAF", 5), Flat("s", "sinabs.IAF", 5)], [
            Conv("conv", "in", "c", new float[3 * 2 * 3 * 3], [3, 3], stride: [2, 2], padding: [1, 1]),
            Pool("pool", "c", "p", [2, 2]),
            Dense("dense", "p", "d", new float[12 * 5]),
            OneToOne("one", "d", "o"),
            Sparse("sparse", "o", "s", [0, 1, 4], [2, 2, 3], [1f, 1f, 1f]),
        ]), new EngineLimits());
        // conv: 48 outputs x 2 channels x 3 x 3; pool: 12 outputs x 2 x 2; dense 60; one-to-one 5; sparse 3.
        Assert.Equal(new long[] { 864, 48, 60, 5, 3 }, net.Projections.Select(j => j.Connections));
        Assert.Equal(864 + 48 + 60 + 5 + 3, net.Connections);
        Assert.Equal(54 + 0 + 60 + 5 + 3, net.Synapses); // stored weights: the conv's kernel once, none for the pool
    }

    [Fact]
    public void Spikes_come_back_compacted_in_ascending_order()
    {
        var definition = Net([Pop("in", "input", 5000), Pop("a", "passthrough", 5000)], [OneToOne("j", "in", "a")], 2);
        var net = NetworkBuilder.Build(definition, new EngineLimits());
        var rng = new Random(5);
        var drive = Enumerable.Range(0, 2).Select(_ => Drive(rng, 5000, 0)).ToArray();
        Step(_backends.Gpu, net, [0, 1], drive);
        var device = _backends.Gpu.Find(net)!;

        // The device check's timing of the neuron kernel and the compaction passes runs them again: the lists stay as they were.
        var timed = device.TimeCompaction(2);
        Assert.Equal(["in", "a"], timed.Select(t => t.Population));
        Assert.All(timed, t => Assert.True(t.Neuron > 0 && t.Count > 0 && t.Scan > 0 && t.Write > 0));
        for (int i = 0; i < 2; i++)
        {
            var list = device.Spikes(net.Populations[1], i, slot: 0);
            var expected = Enumerable.Range(0, 5000).Where(n => drive[i][n] != 0f).ToArray();
            Assert.Equal(expected, list.Indices.ToArray());
            Assert.Equal(expected.Select(n => drive[i][n]).ToArray(), list.Values.ToArray());
        }

        _backends.Gpu.Release(net);
    }
}
