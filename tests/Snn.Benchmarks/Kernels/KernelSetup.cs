using Snn.Server.Models;

namespace Snn.Benchmarks.Kernels;

/// <summary>
/// How one catalogue model is benchmarked: the parameters it is compiled with (the required ones
/// set to typical values, the rest at the library defaults) and the scale of the constant input
/// current, chosen so that part of the population fires in steady state.
/// </summary>
/// <param name="Model">Catalogue name.</param>
/// <param name="Parameters">Compile parameters.</param>
/// <param name="InputScale">Neuron n receives <c>InputScale * u_n</c>, u_n uniform in [0, 1).</param>
internal sealed record ModelSetup(string Model, IReadOnlyDictionary<string, ParamValue> Parameters, float InputScale)
{
    /// <summary>Every catalogue model but <c>input</c> (the same kernel as <c>passthrough</c>).</summary>
    public static readonly ModelSetup[] All =
    [
        new("passthrough", P(), 1f),
        new("sinabs.IAF", P(), 0.2f),
        new("sinabs.LIF", P(("tau_mem", 10)), 2f),
        new("sinabs.ALIF", P(("tau_mem", 10), ("tau_adapt", 30)), 3f),
        new("snntorch.Leaky", P(("beta", 0.9)), 0.2f),
        new("snntorch.Synaptic", P(("alpha", 0.8), ("beta", 0.9)), 0.04f),
        new("snntorch.Alpha", P(("alpha", 0.9), ("beta", 0.8)), 0.2f),
        new("snntorch.Lapicque", P(("beta", 0.9)), 2f),
        new("snntorch.RLeaky", P(("beta", 0.9)), 0.2f),
        new("norse.IAF", P(), 0.2f),
        new("norse.LIF", P(), 0.4f),
        new("norse.LSNN", P(), 0.4f),
        new("norse.LIFAdEx", P(), 0.4f),
    ];

    /// <summary>The models the issue sets targets for.</summary>
    public static readonly string[] Targeted = ["sinabs.LIF", "snntorch.Leaky", "norse.LIF"];

    public NeuronModel Catalogue =>
        ModelCatalog.TryGet(Model, out var m) ? m : throw new InvalidOperationException($"model '{Model}' is not in the catalogue");

    /// <summary>State arrays read and written per neuron and step.</summary>
    public int StateCount => Catalogue.StateVariables.Count;

    /// <summary>
    /// float32 streams one step moves per neuron: every state array read and written, the input
    /// current (and the recurrent input) read, the spikes written.
    /// </summary>
    public int StreamsPerNeuron => 2 * StateCount + 2 + (Catalogue.HasRecurrentInput ? 1 : 0);

    public static ModelSetup Get(string model) =>
        All.FirstOrDefault(s => s.Model == model) ?? throw new ArgumentException($"no setup for model '{model}'", nameof(model));

    private static Dictionary<string, ParamValue> P(params (string Name, double Value)[] values) =>
        values.ToDictionary(v => v.Name, v => ParamValue.Number(v.Value), StringComparer.Ordinal);
}

/// <summary>Instances × neurons per instance of one kernel benchmark.</summary>
internal readonly record struct PopulationShape(int Instances, int Size)
{
    public static readonly PopulationShape[] All = [new(1, 1024), new(1, 65536), new(1, 1048576), new(64, 16384)];

    /// <summary>The shapes of <c>--quick</c>.</summary>
    public static readonly PopulationShape[] Quick = [new(1, 1024), new(1, 1048576)];

    public long Neurons => (long)Instances * Size;

    public override string ToString() => $"{Instances}x{Size}";

    public static PopulationShape Parse(string text)
    {
        var parts = text.Split('x');
        return new PopulationShape(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }
}

/// <summary>
/// The buffers of one population laid out as <c>Population</c> lays them out ([instance][neuron],
/// one array per state variable), a compiled kernel, and a constant input current.
/// </summary>
internal sealed class KernelFixture
{
    public KernelFixture(ModelSetup setup, PopulationShape shape, int seed = 12345)
    {
        Setup = setup;
        Shape = shape;
        var model = setup.Catalogue;
        Kernel = model.Compile(setup.Parameters, shape.Size, 0.001);
        int total = checked(shape.Instances * shape.Size);
        State = new float[model.StateVariables.Count][];
        for (int v = 0; v < State.Length; v++)
        {
            State[v] = new float[total];
        }

        Input = new float[total];
        Recurrent = model.HasRecurrentInput ? new float[total] : [];
        Spikes = new float[total];
        Kernel.Initialize(State, 0, shape.Instances);

        var random = new Random(seed);
        for (int i = 0; i < total; i++)
        {
            Input[i] = setup.InputScale * random.NextSingle();
        }

        for (int i = 0; i < Recurrent.Length; i++)
        {
            Recurrent[i] = 0.01f * random.NextSingle();
        }
    }

    public ModelSetup Setup { get; }

    public PopulationShape Shape { get; }

    public NeuronKernel Kernel { get; }

    public float[][] State { get; }

    public float[] Input { get; }

    public float[] Recurrent { get; }

    public float[] Spikes { get; }

    /// <summary>One step of every neuron of every instance: one kernel call, as the CPU backend makes it.</summary>
    public void Step() =>
        Kernel.Step(State, Input, Recurrent, Spikes, 0, Shape.Instances, 0, Shape.Size);

    /// <summary>Fraction of neurons with a non-zero spike value at the last step.</summary>
    public double SpikeFraction()
    {
        long n = 0;
        foreach (float s in Spikes)
        {
            if (s != 0f)
            {
                n++;
            }
        }

        return (double)n / Spikes.Length;
    }

    /// <summary>Runs <paramref name="steps"/> steps and returns the mean fraction of neurons spiking per step.</summary>
    public double Settle(int steps)
    {
        double sum = 0;
        for (int t = 0; t < steps; t++)
        {
            Step();
            sum += SpikeFraction();
        }

        return sum / steps;
    }
}
