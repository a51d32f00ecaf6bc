using Snn.Server.Engine;
using Snn.Server.Models;

namespace Snn.Benchmarks.Engine;

/// <summary>The networks of the engine benchmarks, as the engine receives them.</summary>
internal static class EngineNetworks
{
    public const string InputName = "in";

    /// <summary>
    /// input 1,024 → dense → sinabs.LIF 512 → dense → sinabs.LIF 10: the dense part of a classifier.
    /// </summary>
    public static NetworkDefinition Dense(int instances = 1)
    {
        var random = new Random(1);
        return Network("dense", instances,
            [Pop(InputName, "input", 1024), Pop("hidden", "sinabs.LIF", 512, ("tau_mem", 10)), Pop("out", "sinabs.LIF", 10, ("tau_mem", 10))],
            [
                new("w1", InputName, "hidden", ProjectionKind.Dense, Weights(random, 512 * 1024, 0.5f, 0.25f), null, false),
                new("w2", "hidden", "out", ProjectionKind.Dense, Weights(random, 10 * 512, 0.5f), null, false),
            ]);
    }

    /// <summary>input 1,048,576 → one-to-one (weight 1) → sinabs.LIF 1,048,576.</summary>
    public static NetworkDefinition OneToOne() =>
        Network("one-to-one", 1,
            [Pop(InputName, "input", 1 << 20), Pop("lif", "sinabs.LIF", 1 << 20, ("tau_mem", 10))],
            [new("id", InputName, "lif", ProjectionKind.OneToOne, [], null, false)]);

    /// <summary>
    /// input [2,128,128] → conv2d 2→16, 5×5, stride 2, padding 2 → sinabs.IAF [16,64,64] → sum pool 4×4 →
    /// passthrough [16,16,16] → dense → sinabs.IAF 10. Weights are multiples of 1/64.
    /// </summary>
    public static NetworkDefinition Vision()
    {
        var random = new Random(2);
        return Network("vision", 1,
            [
                Pop(InputName, "input", 2 * 128 * 128, shape: [2, 128, 128]),
                Pop("conv", "sinabs.IAF", 16 * 64 * 64, shape: [16, 64, 64]),
                Pop("pool", "passthrough", 16 * 16 * 16, shape: [16, 16, 16]),
                Pop("out", "sinabs.IAF", 10),
            ],
            [
                new("c1", InputName, "conv", ProjectionKind.Conv2d, Dyadic(random, 16 * 2 * 5 * 5), null, false)
                    { KernelSize = [5], Stride = [2], Padding = [2] },
                new("p1", "conv", "pool", ProjectionKind.SumPool2d, [], null, false) { KernelSize = [4] },
                new("fc", "pool", "out", ProjectionKind.Dense, Dyadic(random, 10 * 4096), null, false),
            ]);
    }

    /// <summary>
    /// input 1,048,576 → sparse, <paramref name="synapses"/> random (pre, post) pairs → sinabs.LIF 1,048,576.
    /// </summary>
    public static NetworkDefinition Sparse(long synapses = 100_000_000)
    {
        const int n = 1 << 20;
        var random = new Random(3);
        var pre = new int[synapses];
        var post = new int[synapses];
        var weights = new float[synapses];
        // Random connectivity listed source by source (as a generator or an exported CSR matrix lists
        // it): each synapse's source is drawn, then the sources are put in order.
        for (long k = 0; k < synapses; k++)
        {
            pre[k] = random.Next(n);
            post[k] = random.Next(n);
            weights[k] = random.NextSingle();
        }

        Array.Sort(pre);

        return Network("sparse", 1,
            [Pop(InputName, "input", n), Pop("lif", "sinabs.LIF", n, ("tau_mem", 10))],
            [new("syn", InputName, "lif", ProjectionKind.Sparse, weights, null, false) { Pre = pre, Post = post }]);
    }

    /// <summary>input 100 → dense → sinabs.LIF 1,048,576: 104,857,600 weights (the stand-in without sparse projections).</summary>
    public static NetworkDefinition WideDense()
    {
        const int n = 1 << 20;
        var random = new Random(4);
        return Network("wide-dense", 1,
            [Pop(InputName, "input", 100), Pop("lif", "sinabs.LIF", n, ("tau_mem", 10))],
            [new("w", InputName, "lif", ProjectionKind.Dense, Weights(random, 100 * n, 0.5f), null, false)]);
    }

    /// <summary>Whether this build of the engine accepts projections of <paramref name="kind"/> (probed on a tiny network).</summary>
    public static bool Supports(ProjectionKind kind)
    {
        ProjectionDefinition probe = kind switch
        {
            ProjectionKind.Conv2d => new("j", "a", "b", kind, [1f], null, false) { KernelSize = [1] },
            ProjectionKind.SumPool2d => new("j", "a", "b", kind, [], null, false) { KernelSize = [1] },
            ProjectionKind.Sparse => new("j", "a", "b", kind, [1f], null, false) { Pre = [0], Post = [0] },
            _ => new("j", "a", "b", kind, [1f], null, false),
        };
        try
        {
            var net = NetworkBuilder.Build(
                Network("probe", 1, [Pop("a", "input", 1, shape: [1, 1, 1]), Pop("b", "passthrough", 1, shape: [1, 1, 1])], [probe]),
                new EngineLimits());
            return net.Projections[0].Kind == kind;
        }
        catch (Exception e) when (e is EngineException or InvalidOperationException or ArgumentException or NotSupportedException)
        {
            return false;
        }
    }

    private static NetworkDefinition Network(string name, int instances, PopulationDefinition[] populations, ProjectionDefinition[] projections) =>
        new(name, populations, projections, 0.001, ClockMode.Lockstep, instances, 1.0);

    private static PopulationDefinition Pop(string name, string model, int size, params (string Name, double Value)[] parameters) =>
        Pop(name, model, size, [], parameters);

    private static PopulationDefinition Pop(string name, string model, int size, int[] shape, params (string Name, double Value)[] parameters) =>
        new(name, model, size, shape, parameters.ToDictionary(p => p.Name, p => ParamValue.Number(p.Value), StringComparer.Ordinal));

    /// <summary>Uniform in [offset - scale, offset + scale).</summary>
    private static float[] Weights(Random random, int count, float scale, float offset = 0f)
    {
        var w = new float[count];
        for (int i = 0; i < count; i++)
        {
            w[i] = offset + (scale * ((2 * random.NextSingle()) - 1));
        }

        return w;
    }

    /// <summary>Multiples of 1/64 in [-0.5, 1): sums of spike counts stay exact in float32.</summary>
    private static float[] Dyadic(Random random, int count)
    {
        var w = new float[count];
        for (int i = 0; i < count; i++)
        {
            w[i] = random.Next(-32, 64) / 64f;
        }

        return w;
    }
}
