using ILGPU;
using ILGPU.Runtime;

namespace Snn.Server.Backends.Gpu;

/// <summary>Launches <see cref="DeviceKernels.NeuronCount{TRule}"/> for one rule.</summary>
internal delegate void NeuronLauncher<TRule>(AcceleratorStream stream, KernelConfig config, TRule rule,
    ArrayView<float> s0, ArrayView<float> s1, ArrayView<float> s2, ArrayView<float> s3, ArrayView<float> x, ArrayView<float> rec,
    ArrayView<float> spikes, ArrayView<float> p, int scalar, ArrayView<int> due, int size, int chunks, int states, int recurrent, int zeroInput,
    ArrayView<float> oneWeights, ArrayView<float> oneSource, ArrayView<int> oneOffset, int oneToOne, ArrayView<int> chunkCounts)
    where TRule : struct, IDeviceRule;

/// <summary>Launches <see cref="DeviceKernels.NeuronSmall{TRule}"/> for one rule.</summary>
internal delegate void SmallNeuronLauncher<TRule>(AcceleratorStream stream, KernelConfig config, TRule rule,
    ArrayView<float> s0, ArrayView<float> s1, ArrayView<float> s2, ArrayView<float> s3, ArrayView<float> x, ArrayView<float> rec,
    ArrayView<float> spikes, ArrayView<float> p, int scalar, ArrayView<int> due, int size, int states, int recurrent, int zeroInput,
    ArrayView<int> events, int dueCount, int capacity, ArrayView<float> oneWeights, ArrayView<float> oneSource, ArrayView<int> oneOffset, int oneToOne,
    ArrayView<int> counts, ArrayView<int> index, ArrayView<float> value, ArrayView<int> outCounts, ArrayView<int> outIndex, ArrayView<float> outValue,
    int hostLists)
    where TRule : struct, IDeviceRule;

/// <summary>A rule's two kernels: the neuron step with compaction's first pass (two passes follow) and, for a population of one chunk, step and compaction in one.</summary>
internal sealed record NeuronKernels<TRule>(NeuronLauncher<TRule> Step, SmallNeuronLauncher<TRule> StepSmall)
    where TRule : struct, IDeviceRule;

/// <summary>The backend's kernels, compiled once per accelerator (PTX rounded, see <see cref="KernelLoader"/>).</summary>
internal sealed class DeviceKernelSet(Accelerator accelerator)
{
    /// <summary>
    /// Threads per group: 256 on a GPU, fewer on ILGPU's CPU accelerator (each of its threads is an OS
    /// thread); a power of two, as the group reductions need.
    /// </summary>
    public int GroupSize { get; } = 1 << System.Numerics.BitOperations.Log2((uint)Math.Min(DeviceKernels.MaxGroupSize, accelerator.MaxNumThreadsPerGroup));

    /// <summary>Neurons one compaction group covers.</summary>
    public int Chunk => GroupSize * DeviceKernels.PerThread;

    private readonly Accelerator _accelerator = accelerator;
    private readonly Dictionary<Type, object> _neurons = [];

    /// <summary>The kernels of one neuron rule, compiled at the first population that uses it.</summary>
    public NeuronKernels<TRule> Neuron<TRule>()
        where TRule : struct, IDeviceRule
    {
        if (!_neurons.TryGetValue(typeof(TRule), out var kernels))
        {
            kernels = new NeuronKernels<TRule>(
                KernelLoader.Load<NeuronLauncher<TRule>>(_accelerator, Generic(nameof(DeviceKernels.NeuronCount), typeof(TRule))),
                KernelLoader.Load<SmallNeuronLauncher<TRule>>(_accelerator, Generic(nameof(DeviceKernels.NeuronSmall), typeof(TRule))));
            _neurons[typeof(TRule)] = kernels;
        }

        return (NeuronKernels<TRule>)kernels;
    }

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, int, ArrayView<int>, ArrayView<int>, ArrayView<float>,
        ArrayView<int>, ArrayView<int>, ArrayView<float>, int> CompactSmall { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, int, ArrayView<int>, ArrayView<int>, ArrayView<float>,
            ArrayView<int>, ArrayView<int>, ArrayView<float>, int>>(accelerator, nameof(DeviceKernels.CompactSmall));

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<int>, int, int, int> Inhibit { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<int>, int, int, int>>(accelerator, nameof(DeviceKernels.Inhibit));

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int, int> ScatterEvents { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int, int>>(accelerator, nameof(DeviceKernels.ScatterEvents));

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>,
        ArrayView<int>, int, ArrayView<int>, ArrayView<int>, int, int> DenseFromEvents { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>,
            ArrayView<int>, int, ArrayView<int>, ArrayView<int>, int, int>>(accelerator, nameof(DeviceKernels.DenseFromEvents));

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>,
        ArrayView<int>, int, ArrayView<int>, ArrayView<int>, int, int> DenseTiled { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>,
            ArrayView<int>, int, ArrayView<int>, ArrayView<int>, int, int>>(accelerator, nameof(DeviceKernels.DenseTiled));

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
        ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int, int> Sparse { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int, int>>(accelerator, nameof(DeviceKernels.Sparse));

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int, ArrayView<int>,
        ArrayView<int>> RecordDelay { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int, ArrayView<int>,
            ArrayView<int>>>(accelerator, nameof(DeviceKernels.RecordDelay));

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, int, int, ArrayView<int>> CountChunks { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, int, int, ArrayView<int>>>(accelerator, nameof(DeviceKernels.CountChunks));

    public Action<AcceleratorStream, KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>,
        int, int> ScanTiles { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>,
            int, int>>(accelerator, nameof(DeviceKernels.ScanTiles));

    public Action<AcceleratorStream, KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int> ScanTileTotals { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int>>(
            accelerator, nameof(DeviceKernels.ScanTileTotals));

    public Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, int, int, ArrayView<int>, ArrayView<int>, ArrayView<int>, int,
        ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int> WriteChunks { get; } =
        Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, int, int, ArrayView<int>, ArrayView<int>, ArrayView<int>, int,
            ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int>>(accelerator, nameof(DeviceKernels.WriteChunks));

    /// <summary>Groups of <see cref="GroupSize"/> threads covering <paramref name="threads"/>.</summary>
    public KernelConfig Cover(long threads) => new((int)((threads + GroupSize - 1) / GroupSize), GroupSize);

    /// <summary><paramref name="groups"/> groups of <see cref="GroupSize"/> threads.</summary>
    public KernelConfig Groups(int groups) => new(groups, GroupSize);

    /// <summary>The neuron rules with device kernels.</summary>
    internal static readonly Type[] Rules =
    [
        typeof(StatelessDeviceRule), typeof(LeakyDeviceRule), typeof(SinabsLifDeviceRule), typeof(NorseLifDeviceRule), typeof(SynapticDeviceRule),
        typeof(NorseIafDeviceRule), typeof(AlphaDeviceRule), typeof(LapicqueDeviceRule), typeof(RLeakyDeviceRule), typeof(SinabsAlifDeviceRule),
        typeof(NorseLsnnDeviceRule), typeof(NorseLifBoxDeviceRule), typeof(NorseLiBoxDeviceRule), typeof(SinabsExpLeakDeviceRule),
        typeof(RSynapticDeviceRule), typeof(NirGenericDeviceRule), typeof(NorseLifAdExDeviceRule),
    ];

    /// <summary>Every kernel method the backend loads, generic ones instantiated per rule (for the PTX tests).</summary>
    internal static IEnumerable<System.Reflection.MethodInfo> Methods()
    {
        foreach (var rule in Rules)
        {
            yield return Generic(nameof(DeviceKernels.NeuronCount), rule);
            yield return Generic(nameof(DeviceKernels.NeuronSmall), rule);
        }

        foreach (var name in new[]
        {
            nameof(DeviceKernels.Inhibit), nameof(DeviceKernels.ScatterEvents), nameof(DeviceKernels.DenseFromEvents), nameof(DeviceKernels.DenseTiled), nameof(DeviceKernels.DenseFromRow),
            nameof(DeviceKernels.OneToOne), nameof(DeviceKernels.RecordDelay), nameof(DeviceKernels.Conv2d), nameof(DeviceKernels.SumPool2d),
            nameof(DeviceKernels.Sparse), nameof(DeviceKernels.CountChunks), nameof(DeviceKernels.ScanTiles),
            nameof(DeviceKernels.ScanTileTotals), nameof(DeviceKernels.WriteChunks), nameof(DeviceKernels.CompactSmall),
        })
        {
            yield return typeof(DeviceKernels).GetMethod(name)!;
        }
    }

    private static System.Reflection.MethodInfo Generic(string name, Type rule) =>
        typeof(DeviceKernels).GetMethod(name)!.MakeGenericMethod(rule);

    private static TDelegate Load<TDelegate>(Accelerator accelerator, string name)
        where TDelegate : Delegate =>
        KernelLoader.Load<TDelegate>(accelerator, typeof(DeviceKernels).GetMethod(name)!);
}
