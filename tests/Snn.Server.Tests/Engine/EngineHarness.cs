using Snn.Server.Backends.Cpu;
using Snn.Server.Engine;
using Snn.Server.Models;

namespace Snn.Server.Tests.Engine;

/// <summary>
/// Steps a built network in-process the way the step loop does (clear inputs, write external input,
/// backend step, advance the step counter), without threads or streams.
/// </summary>
internal sealed class EngineHarness
{
    private static readonly Dictionary<string, ParamValue> NoParams = [];
    private readonly CpuBackend _backend = new();
    private readonly int[] _all;

    public EngineHarness(NetworkDefinition definition, EngineLimits? limits = null)
    {
        Network = NetworkBuilder.Build(definition, limits ?? new EngineLimits());
        _all = Enumerable.Range(0, Network.Instances.Length).ToArray();
    }

    public Network Network { get; }

    public Population this[string name] => Network.FindPopulation(name)!;

    public static PopulationDefinition Shaped(string name, string model, params int[] shape) =>
        new(name, model, shape.Aggregate(1, (a, b) => a * b), shape, NoParams);

    public static PopulationDefinition Flat(string name, string model, int size) => new(name, model, size, [], NoParams);

    public static NetworkDefinition Net(IReadOnlyList<PopulationDefinition> pops, IReadOnlyList<ProjectionDefinition> projections,
        int instances = 1) => new("net", pops, projections, 0.001, ClockMode.Lockstep, instances, 1);

    public static ProjectionDefinition Conv(string name, string source, string target, float[] weights, int[] kernel,
        int[]? stride = null, int[]? padding = null, float[]? bias = null, int delay = 0, bool biasOnFirstStep = true) =>
        new(name, source, target, ProjectionKind.Conv2d, weights, bias, biasOnFirstStep)
        {
            KernelSize = kernel,
            Stride = stride ?? [],
            Padding = padding ?? [],
            DelaySteps = delay,
        };

    public static ProjectionDefinition Pool(string name, string source, string target, int[] kernel,
        int[]? stride = null, int[]? padding = null, int delay = 0) =>
        new(name, source, target, ProjectionKind.SumPool2d, [], null, true)
        {
            KernelSize = kernel,
            Stride = stride ?? [],
            Padding = padding ?? [],
            DelaySteps = delay,
        };

    public static ProjectionDefinition Sparse(string name, string source, string target, int[] pre, int[] post, float[] weights,
        float[]? bias = null, int delay = 0, bool biasOnFirstStep = true) =>
        new(name, source, target, ProjectionKind.Sparse, weights, bias, biasOnFirstStep) { Pre = pre, Post = post, DelaySteps = delay };

    public static ProjectionDefinition Dense(string name, string source, string target, float[] weights, float[]? bias = null,
        int delay = 0, bool biasOnFirstStep = true) =>
        new(name, source, target, ProjectionKind.Dense, weights, bias, biasOnFirstStep) { DelaySteps = delay };

    public static ProjectionDefinition OneToOne(string name, string source, string target, float[]? weights = null, int delay = 0) =>
        new(name, source, target, ProjectionKind.OneToOne, weights ?? [], null, true) { DelaySteps = delay };

    /// <summary>
    /// One step of every instance. <paramref name="external"/> gives instance i's input current for
    /// population <paramref name="into"/> (null = none).
    /// </summary>
    public void Step(string? into = null, Func<int, float[]?>? external = null) => Step(_all, into, external);

    public void Step(int[] due, string? into = null, Func<int, float[]?>? external = null)
    {
        foreach (var p in Network.Populations)
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

        if (into is not null && external is not null)
        {
            var pop = this[into];
            foreach (int i in due)
            {
                if (external(i) is { } values)
                {
                    values.CopyTo(pop.Slice(pop.Input, i));
                }
            }
        }

        _backend.Step(Network, due);
        foreach (int i in due)
        {
            Network.Instances[i].Step++;
        }
    }

    /// <summary>
    /// One step of every instance without touching the input populations' input (their last input
    /// repeats). Allocation-free, for allocation budgets.
    /// </summary>
    public void StepRepeatingInput()
    {
        foreach (var p in Network.Populations)
        {
            if (p.Model is not InputModel)
            {
                p.Input.AsSpan().Clear();
            }
        }

        _backend.Step(Network, _all);
        foreach (var inst in Network.Instances)
        {
            inst.Step++;
        }
    }

    /// <summary>The spike values (the output, for a passthrough population) of one instance after the last step.</summary>
    public float[] Output(string population, int instance = 0)
    {
        var p = this[population];
        return p.Slice(p.Spikes, instance).ToArray();
    }

    /// <summary>Resets one instance as the step loop does.</summary>
    public void Reset(int instance)
    {
        foreach (var p in Network.Populations)
        {
            p.Reset(instance);
        }

        Network.Instances[instance].Step = 0;
    }

    /// <summary>Random multiples of 1/64 in [-range, range]: every sum of their products with small integers is exact in float32.</summary>
    public static float[] Dyadic(Random rng, int n, int range = 2) =>
        Enumerable.Range(0, n).Select(_ => rng.Next(-64 * range, 64 * range + 1) / 64f).ToArray();

    /// <summary>Random spike counts 0..<paramref name="max"/>, zero with probability 1 - <paramref name="rate"/>.</summary>
    public static float[] Counts(Random rng, int n, double rate = 0.3, int max = 3) =>
        Enumerable.Range(0, n).Select(_ => rng.NextDouble() < rate ? (float)rng.Next(1, max + 1) : 0f).ToArray();
}
