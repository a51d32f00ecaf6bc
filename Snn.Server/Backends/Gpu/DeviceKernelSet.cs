using ILGPU;
using ILGPU.Runtime;

namespace Snn.Server.Backends.Gpu;

/// <summary>The backend's kernels, compiled once per accelerator (PTX rounded, see <see cref="KernelLoader"/>).</summary>
internal sealed class DeviceKernelSet(Accelerator accelerator)
{
    /// <summary>Threads per group: 256 on a GPU, fewer on ILGPU's CPU accelerator (each of its threads is an OS thread).</summary>
    public int GroupSize { get; } = Math.Min(DeviceKernels.MaxGroupSize, accelerator.MaxNumThreadsPerGroup);

    /// <summary>Neurons one compaction group covers.</summary>
    public int Chunk => GroupSize * DeviceKernels.PerThread;

    public Action<AcceleratorStream, KernelConfig, LeakyDeviceRule, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<int>, int, int, int> Leaky { get; } = Neuron<LeakyDeviceRule>(accelerator);

    public Action<AcceleratorStream, KernelConfig, SinabsLifDeviceRule, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<int>, int, int, int> SinabsLif { get; } = Neuron<SinabsLifDeviceRule>(accelerator);

    public Action<AcceleratorStream, KernelConfig, NorseLifDeviceRule, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<int>, int, int, int> NorseLif { get; } = Neuron<NorseLifDeviceRule>(accelerator);

    public Action<AcceleratorStream, KernelConfig, SynapticDeviceRule, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<int>, int, int, int> Synaptic { get; } = Neuron<SynapticDeviceRule>(accelerator);

    public Action<AcceleratorStream, KernelConfig, NorseIafDeviceRule, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<int>, int, int, int> NorseIaf { get; } = Neuron<NorseIafDeviceRule>(accelerator);

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
        foreach (var name in new[]
        {
            nameof(DeviceKernels.Stateless), nameof(DeviceKernels.DenseFromEvents), nameof(DeviceKernels.DenseFromRow),
            nameof(DeviceKernels.OneToOne), nameof(DeviceKernels.RecordDelay), nameof(DeviceKernels.CountChunks),
            nameof(DeviceKernels.ScanChunks), nameof(DeviceKernels.WriteChunks), nameof(DeviceKernels.CompactSmall),
        })
        {
            yield return typeof(DeviceKernels).GetMethod(name)!;
        }
    }

    private static Action<AcceleratorStream, KernelConfig, TRule, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<int>, int, int, int> Neuron<TRule>(Accelerator accelerator)
        where TRule : struct, IDeviceRule =>
        KernelLoader.Load<Action<AcceleratorStream, KernelConfig, TRule, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<int>, int, int, int>>(
            accelerator, typeof(DeviceKernels).GetMethod(nameof(DeviceKernels.Neuron))!.MakeGenericMethod(typeof(TRule)));

    private static TDelegate Load<TDelegate>(Accelerator accelerator, string name)
        where TDelegate : Delegate =>
        KernelLoader.Load<TDelegate>(accelerator, typeof(DeviceKernels).GetMethod(name)!);
}
