using System.Runtime.Intrinsics.X86;
using Snn.Server.Engine;
using Snn.Server.Models;

namespace Snn.Server.Backends.Cpu;

/// <summary>Options of the CPU backend (configuration section <c>Snn:Cpu</c>).</summary>
public sealed class CpuOptions
{
    /// <summary>Threads that step one kernel call together, the loop's own included. Defaults to the core count.</summary>
    public int Threads { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Neuron-steps in one kernel call (neurons × adjacent due instances) from which the call is split
    /// across <see cref="Threads"/>. Below it, handing work to another core costs more than it saves.
    /// Defaults to 32,768 (measured: two cores step a 65,536-neuron population 1.6–2.1× faster than one).
    /// </summary>
    public int ParallelThreshold { get; set; } = 1 << 15;
}

/// <summary>
/// The default backend: SIMD kernels over the host arrays. Due instances that are adjacent are
/// stepped by one kernel call, so a network whose instances all advance together costs one call per
/// population per step; a call with enough work is split across cores (by neuron range, or by
/// instance for models that couple the neurons of an instance).
/// </summary>
internal sealed class CpuBackend : IComputeBackend, IDisposable
{
    private readonly WorkerPool _pool;
    private readonly int _threshold;
    private readonly KernelCall _call = new();

    public CpuBackend()
        : this(new CpuOptions())
    {
    }

    public CpuBackend(CpuOptions options)
    {
        _pool = new WorkerPool(Math.Max(1, options.Threads) - 1);
        _threshold = Math.Max(1, options.ParallelThreshold);
        Device = $"{System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} cores " +
            $"({_pool.Workers + 1} stepping threads), {(Avx512F.IsSupported ? "AVX-512" : Avx2.IsSupported ? "AVX2" : "SSE")}, " +
            $"Vector<float> width {System.Numerics.Vector<float>.Count}";
    }

    public string Name => "cpu";

    /// <summary>
    /// Whether the CPU has 512-bit vectors that the kernels do not use: .NET sizes
    /// <see cref="System.Numerics.Vector{T}"/> at 256 bits unless the process starts with
    /// <c>DOTNET_MaxVectorTBitWidth=512</c> (set by the launch profile, <c>snn bench</c> and the benchmark script).
    /// </summary>
    public static bool NarrowVectors =>
        System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated && System.Numerics.Vector<float>.Count < 16;

    public string Device { get; }

    /// <summary>
    /// For each population in feed-forward order: each incoming projection, in declaration order, adds
    /// the spikes it delivers at this step (the source's spike buffer, or the slot of its delay line)
    /// into the population's input; then its kernel steps the due instances. Finally the delay lines
    /// record this step's spikes. Allocation-free.
    /// </summary>
    public void Step(Network network, ReadOnlySpan<int> due)
    {
        network.StepsOn ??= "on the CPU backend"; // a device backend that steps it here has said why already
        var scratch = network.Scratch;
        foreach (int p in network.Order)
        {
            var pop = network.Populations[p];
            int size = pop.Size;
            foreach (var projection in pop.Incoming)
            {
                var into = projection.IntoRecurrentInput ? pop.RecurrentInput : pop.Input;
                foreach (int i in due)
                {
                    long step = network.Instances[i].Step;
                    projection.Deliver(
                        projection.DeliveredSpikes(i, step),
                        into.AsSpan(i * size, size),
                        scratch,
                        projection.BiasAt(step));
                }
            }

            int run = 0;
            while (run < due.Length)
            {
                int first = due[run];
                int count = 1;
                while (run + count < due.Length && due[run + count] == first + count)
                {
                    count++;
                }

                StepKernel(pop, first, count);
                run += count;
            }
        }

        // Every population has stepped: this step's spikes go into the delay lines.
        foreach (var projection in network.Delayed)
        {
            foreach (int i in due)
            {
                projection.Record(i, network.Instances[i].Step);
            }
        }
    }

    private void StepKernel(Population pop, int first, int count)
    {
        var kernel = pop.Kernel;
        long work = (long)pop.Size * count;
        if (_pool.Workers == 0 || work < _threshold)
        {
            kernel.Step(pop.State, pop.Input, pop.RecurrentInput, pop.Spikes, first, count, 0, pop.Size);
            return;
        }

        _call.Set(pop, kernel, first, count);
        int parts = kernel.SplittableAcrossNeurons ? _pool.Workers + 1 : Math.Min(_pool.Workers + 1, count);
        _pool.Run(_call, parts);
        _call.Clear();
    }

    public void SetRealtimePriority(int priority) => _pool.Priority = priority;

    public void Dispose() => _pool.Dispose();

    /// <summary>One kernel call cut into neuron ranges (or instance ranges). Reused: no allocation per step.</summary>
    private sealed class KernelCall : IPartitionedWork
    {
        private Population? _pop;
        private NeuronKernel? _kernel;
        private int _first;
        private int _count;

        public void Set(Population pop, NeuronKernel kernel, int first, int count)
        {
            _pop = pop;
            _kernel = kernel;
            _first = first;
            _count = count;
        }

        public void Clear()
        {
            _pop = null;
            _kernel = null;
        }

        public void Execute(int part, int parts)
        {
            var pop = _pop!;
            var kernel = _kernel!;
            if (kernel.SplittableAcrossNeurons)
            {
                // Neuron ranges aligned to 64 elements so that vector loops stay whole.
                int chunk = (pop.Size + parts - 1) / parts;
                chunk = (chunk + 63) & ~63;
                int start = Math.Min(pop.Size, part * chunk);
                int end = Math.Min(pop.Size, start + chunk);
                if (start < end)
                {
                    kernel.Step(pop.State, pop.Input, pop.RecurrentInput, pop.Spikes, _first, _count, start, end);
                }
            }
            else
            {
                int per = (_count + parts - 1) / parts;
                int first = _first + part * per;
                int count = Math.Min(per, _first + _count - first);
                if (count > 0)
                {
                    kernel.Step(pop.State, pop.Input, pop.RecurrentInput, pop.Spikes, first, count, 0, pop.Size);
                }
            }
        }
    }
}
