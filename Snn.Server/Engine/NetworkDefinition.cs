using Snn.Server.Models;

namespace Snn.Server.Engine;

/// <summary>How an instance's steps are paced.</summary>
public enum ClockMode
{
    /// <summary>An instance advances exactly as many steps as its driver asks.</summary>
    Lockstep,

    /// <summary>The server steps the instance at a fixed wall-clock period.</summary>
    Realtime,
}

/// <summary>A network as the engine receives it: plain, validated by <see cref="NetworkBuilder"/>.</summary>
public sealed record NetworkDefinition(
    string Name,
    IReadOnlyList<PopulationDefinition> Populations,
    IReadOnlyList<ProjectionDefinition> Projections,
    double Dt,
    ClockMode Clock,
    int Instances,
    double RealtimeFactor)
{
    /// <summary>spec.instances as the client sent it when it does not fit <see cref="Instances"/> (for the refusal's message).</summary>
    public long? RequestedInstances { get; init; }

    /// <summary>spec.placement: where a device backend steps the network (a CPU backend steps every network itself).</summary>
    public NetworkPlacement Placement { get; init; }
}

/// <summary>Where a network asks a device backend to step it (spec.placement).</summary>
public enum NetworkPlacement
{
    /// <summary>The backend decides: the CPU backend for a network small enough that it steps faster there, else the device.</summary>
    Auto,

    /// <summary>The CPU backend (the device backend's CPU fallback), whatever the network's size.</summary>
    Cpu,

    /// <summary>The device whatever the network's size, where it has kernels and room.</summary>
    Device,
}

/// <summary>A population: <paramref name="Size"/> neurons of one model.</summary>
public sealed record PopulationDefinition(
    string Name,
    string Model,
    int Size,
    IReadOnlyList<int> Shape,
    IReadOnlyDictionary<string, ParamValue> Parameters);

/// <summary>Kind of a projection.</summary>
public enum ProjectionKind
{
    /// <summary>weights[target][source], optional bias[target].</summary>
    Dense,

    /// <summary>weights[n] (empty = 1 for all).</summary>
    OneToOne,

    /// <summary>(pre, post, weight) triples, optional bias[target].</summary>
    Sparse,

    /// <summary>weights[out_c][in_c][kh][kw] over [C,H,W] populations, optional bias[out_c].</summary>
    Conv2d,

    /// <summary>Window sums per channel over [C,H,W] populations; no weights.</summary>
    SumPool2d,
}

/// <summary>
/// A connection between populations. <paramref name="Weights"/> is in the layout of its kind (dense
/// [target][source], one-to-one [n], sparse one per triple, conv2d [out_c][in_c][kh][kw]).
/// </summary>
public sealed record ProjectionDefinition(
    string Name,
    string Source,
    string Target,
    ProjectionKind Kind,
    float[] Weights,
    float[]? Bias,
    bool BiasOnFirstStep)
{
    /// <summary>Synaptic delay in steps (0 = none).</summary>
    public int DelaySteps { get; init; }

    /// <summary>Sparse: source neuron of each triple.</summary>
    public int[] Pre { get; init; } = [];

    /// <summary>Sparse: target neuron of each triple.</summary>
    public int[] Post { get; init; } = [];

    /// <summary>Conv2d and sum pooling: [kh, kw] (one value = both).</summary>
    public int[] KernelSize { get; init; } = [];

    /// <summary>Conv2d and sum pooling: [sy, sx] (one value = both; empty = 1 for conv2d, the kernel for pooling).</summary>
    public int[] Stride { get; init; } = [];

    /// <summary>Conv2d and sum pooling: [py, px] zeros on each side (one value = both; empty = 0).</summary>
    public int[] Padding { get; init; } = [];
}
