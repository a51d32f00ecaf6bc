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
    double RealtimeFactor);

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
}

/// <summary>A connection between populations.</summary>
public sealed record ProjectionDefinition(
    string Name,
    string Source,
    string Target,
    ProjectionKind Kind,
    float[] Weights,
    float[]? Bias,
    bool BiasOnFirstStep);
