using ILGPU;
using ILGPU.Runtime;

namespace Snn.Server.Backends.Gpu;

/// <summary>Launches <see cref="DeviceKernels.Neuron{TRule}"/> for one rule.</summary>
internal delegate void NeuronLauncher<TRule>(AcceleratorStream stream, KernelConfig config, TRule rule,
    ArrayView<float> s0, ArrayView<float> s1, ArrayView<float> s2, ArrayView<float> s3, ArrayView<float> x, ArrayView<float> rec,
    ArrayView<float> spikes, ArrayView<float> p, ArrayView<int> due, int dueCount, int size, int states, int recurrent)
    where TRule : struct, IDeviceRule;

/// <summary>The backend's kernels, compiled once per accelerator (PTX rounded, see <see cref="KernelLoader"/>).</summary>
internal sealed class DeviceKernelSet(Accelerator accelerator)
{
    /// <summary>Threads per group: 256 on a GPU, fewer on ILGPU's CPU accelerator (each of its threads is an OS thread).</summary>
    public int GroupSize { get; } = Math.Min(DeviceKernels.MaxGroupSize, accelerator.MaxNumThreadsPerGroup);

    /// <summary>Neurons one compaction group covers.</summary>
    public int Chunk => GroupSize * DeviceKernels.PerThread;

    public NeuronLauncher<LeakyDeviceRule> Leaky { get; } = Neuron<LeakyDeviceRule>(accelerator);

    public NeuronLauncher<SinabsLifDeviceRule> SinabsLif { get; } = Neuron<SinabsLifDeviceRule>(accelerator);

    public NeuronLauncher<NorseLifDeviceRule> NorseLif { get; } = Neuron<NorseLifDeviceRule>(accelerator);

    public NeuronLauncher<SynapticDeviceRule> Synaptic { get; } = Neuron<SynapticDeviceRule>(accelerator);

    public NeuronLauncher<NorseIafDeviceRule> NorseIaf { get; } = Neuron<NorseIafDeviceRule>(accelerator);

    public NeuronLauncher<AlphaDeviceRule> Alpha { get; } = Neuron<AlphaDeviceRule>(accelerator);

    public NeuronLauncher<LapicqueDeviceRule> Lapicque { get; } = Neuron<LapicqueDeviceRule>(accelerator);

    public NeuronLauncher<RLeakyDeviceRule> RLeaky { get; } = Neuron<RLeakyDeviceRule>(accelerator);

    public NeuronLauncher<SinabsAlifDeviceRule> SinabsAlif { get; } = Neuron<SinabsAlifDeviceRule>(accelerator);

    public NeuronLauncher<NorseLsnnDeviceRule> NorseLsnn { get; } = Neuron<NorseLsnnDeviceRule>(accelerator);

    public NeuronLauncher<NorseLifBoxDeviceRule> NorseLifBox { get; } = Neuron<NorseLifBoxDeviceRule>(accelerator);

    public NeuronLauncher<NorseLiBoxDeviceRule> NorseLiBox { get; } = Neuron<NorseLiBoxDeviceRule>(accelerator);

    public NeuronLauncher<SinabsExpLeakDeviceRule> SinabsExpLeak { get; } = Neuron<SinabsExpLeakDeviceRule>(accelerator);

    public NeuronLauncher<RSynapticDeviceRule> RSynaptic { get; } = Neuron<RSynapticDeviceRule>(accelerator);

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, int, ArrayView<int>, ArrayView<int>, ArrayView<float>> CompactSmall { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, int, ArrayView<int>, ArrayView<int>, ArrayView<float>>>(
            accelerator, nameof(DeviceKernels.CompactSmall));

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int> Stateless { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int>>(accelerator, nameof(DeviceKernels.Stateless));

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>,
        ArrayView<int>, int, ArrayView<int>, ArrayView<int>, int, int> DenseFromEvents { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>,
            ArrayView<int>, int, ArrayView<int>, ArrayView<int>, int, int>>(accelerator, nameof(DeviceKernels.DenseFromEvents));

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>,
        int, ArrayView<int>, ArrayView<int>, int, int> DenseFromRow { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>,
            int, ArrayView<int>, ArrayView<int>, int, int>>(accelerator, nameof(DeviceKernels.DenseFromRow));

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int> OneToOne { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int>>(
            accelerator, nameof(DeviceKernels.OneToOne));

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>,
        ArrayView<int>, ArrayView<int>, ArrayView<int>, DeviceWindow, int> Conv2d { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>,
            ArrayView<int>, ArrayView<int>, ArrayView<int>, DeviceWindow, int>>(accelerator, nameof(DeviceKernels.Conv2d));

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, DeviceWindow, int> SumPool2d { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, DeviceWindow, int>>(
            accelerator, nameof(DeviceKernels.SumPool2d));

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int> Sparse { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int>>(accelerator, nameof(DeviceKernels.Sparse));

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int> RecordDelay { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int>>(
            accelerator, nameof(DeviceKernels.RecordDelay));

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, int, int, ArrayView<int>> CountChunks { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, int, int, ArrayView<int>>>(accelerator, nameof(DeviceKernels.CountChunks));

    public Action<AcceleratorStream, KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int> ScanChunks { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int>>(accelerator, nameof(DeviceKernels.ScanChunks));

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, int, int, ArrayView<int>, ArrayView<int>, ArrayView<float>> WriteChunks { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, int, int, ArrayView<int>, ArrayView<int>, ArrayView<float>>>(
            accelerator, nameof(DeviceKernels.WriteChunks));

    /// <summary>Groups of <see cref="GroupSize"/> threads covering <paramref name="threads"/>.</summary>
    public KernelConfig Cover(long threads) => new((int)((threads + GroupSize - 1) / GroupSize), GroupSize);

    /// <summary><paramref name="groups"/> groups of <see cref="GroupSize"/> threads.</summary>
    public KernelConfig Groups(int groups) => new(groups, GroupSize);

    /// <summary>Every kernel method the backend loads, generic ones instantiated per rule (for the PTX tests).</summary>
    internal static IEnumerable<System.Reflection.MethodInfo> Methods()
    {
        var neuron = typeof(DeviceKernels).GetMethod(nameof(DeviceKernels.Neuron))!;
        yield return neuron.MakeGenericMethod(typeof(LeakyDeviceRule));
        yield return neuron.MakeGenericMethod(typeof(SinabsLifDeviceRule));
        yield return neuron.MakeGenericMethod(typeof(NorseLifDeviceRule));
        yield return neuron.MakeGenericMethod(typeof(SynapticDeviceRule));
        yield return neuron.MakeGenericMethod(typeof(NorseIafDeviceRule));
        yield return neuron.MakeGenericMethod(typeof(AlphaDeviceRule));
        yield return neuron.MakeGenericMethod(typeof(LapicqueDeviceRule));
        yield return neuron.MakeGenericMethod(typeof(RLeakyDeviceRule));
        yield return neuron.MakeGenericMethod(typeof(SinabsAlifDeviceRule));
        yield return neuron.MakeGenericMethod(typeof(NorseLsnnDeviceRule));
        yield return neuron.MakeGenericMethod(typeof(NorseLifBoxDeviceRule));
        yield return neuron.MakeGenericMethod(typeof(NorseLiBoxDeviceRule));
        yield return neuron.MakeGenericMethod(typeof(SinabsExpLeakDeviceRule));
        yield return neuron.MakeGenericMethod(typeof(RSynapticDeviceRule));
        foreach (var name in new[]
        {
            nameof(DeviceKernels.Stateless), nameof(DeviceKernels.DenseFromEvents), nameof(DeviceKernels.DenseFromRow),
            nameof(DeviceKernels.OneToOne), nameof(DeviceKernels.RecordDelay), nameof(DeviceKernels.Conv2d), nameof(DeviceKernels.SumPool2d),
            nameof(DeviceKernels.Sparse), nameof(DeviceKernels.CountChunks),
            nameof(DeviceKernels.ScanChunks), nameof(DeviceKernels.WriteChunks), nameof(DeviceKernels.CompactSmall),
        })
        {
            yield return typeof(DeviceKernels).GetMethod(name)!;
        }
    }

    private static NeuronLauncher<TRule> Neuron<TRule>(Accelerator accelerator)
        where TRule : struct, IDeviceRule =>
        KernelLoader.Load<NeuronLauncher<TRule>>(
            accelerator, typeof(DeviceKernels).GetMethod(nameof(DeviceKernels.Neuron))!.MakeGenericMethod(typeof(TRule)));

    private static TDelegate Load<TDelegate>(Accelerator accelerator, string name)
        where TDelegate : Delegate =>
        KernelLoader.Load<TDelegate>(accelerator, typeof(DeviceKernels).GetMethod(name)!);
}
