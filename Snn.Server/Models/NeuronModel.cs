namespace Snn.Server.Models;

/// <summary>
/// A neuron model of one library (e.g. <c>sinabs.LIF</c>): its catalogue entry and the
/// validation of its parameters. <see cref="Compile"/> turns parameters into an immutable
/// <see cref="NeuronKernel"/> that steps state; models hold no state of their own.
/// </summary>
public abstract class NeuronModel
{
    /// <summary>Name used in <c>PopulationSpec.model</c>, e.g. <c>"sinabs.LIF"</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The library class it reproduces, e.g. <c>"sinabs.layers.LIF"</c>.</summary>
    public abstract string LibraryClass { get; }

    public abstract string Description { get; }

    /// <summary>Parameters by the library's constructor names, with defaults and ranges.</summary>
    public abstract IReadOnlyList<ParameterDescriptor> Parameters { get; }

    /// <summary>State variables, in the order of the state arrays the kernel uses.</summary>
    public abstract IReadOnlyList<string> StateVariables { get; }

    /// <summary>
    /// True when the model takes a separate recurrent input (snntorch RLeaky): a self-projection
    /// into such a population is delivered into the <c>rec</c> buffer of <see cref="NeuronKernel.Step"/>
    /// instead of the input current.
    /// </summary>
    public virtual bool HasRecurrentInput => false;

    /// <summary>
    /// Validates <paramref name="parameters"/> (absent ones take the library default) and returns the
    /// kernel for a population of <paramref name="size"/> neurons.
    /// </summary>
    /// <param name="networkDt">The network's dt in seconds, for models that take dt when the
    /// population does not set its own.</param>
    /// <exception cref="ModelParameterException">A parameter is unknown, out of range or of the wrong kind or length.</exception>
    public abstract NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt);
}

/// <summary>
/// Compiled, immutable parameters of one population plus the step function. State lives in the
/// population's arrays, one array per state variable, laid out [instance][neuron].
/// </summary>
public abstract class NeuronKernel
{
    protected NeuronKernel(int size) => Size = size;

    /// <summary>Neurons per instance.</summary>
    public int Size { get; }

    /// <summary>
    /// Whether <see cref="Step"/> may be called on a part of the neurons of an instance (false for
    /// models that couple neurons, e.g. snntorch inhibition).
    /// </summary>
    public virtual bool SplittableAcrossNeurons => true;

    /// <summary>Writes the initial state of instances [first, first+count) into <paramref name="state"/>.</summary>
    public abstract void Initialize(float[][] state, int firstInstance, int instanceCount);

    /// <summary>
    /// Advances neurons [neuronStart, neuronEnd) of instances [firstInstance, firstInstance+instanceCount)
    /// by one step. All arrays are [instance][neuron] with length instances*Size; the kernel touches
    /// only the given range. <paramref name="x"/> is the summed input current; <paramref name="rec"/>
    /// the recurrent input (models with <see cref="NeuronModel.HasRecurrentInput"/>; otherwise unused
    /// and may be empty). Spike values are written to <paramref name="spikes"/>: 0 for no spike, else
    /// the value the library emits (1, a MultiSpike count, a graded value).
    /// Must not allocate.
    /// </summary>
    public abstract void Step(float[][] state, float[] x, float[] rec, float[] spikes,
        int firstInstance, int instanceCount, int neuronStart, int neuronEnd);
}

/// <summary>Kind of a parameter value.</summary>
public enum ParamKind
{
    Number,
    Choice,
    Flag,
}

/// <summary>A parameter value as a client gave it.</summary>
public readonly struct ParamValue
{
    private ParamValue(ParamKind kind, double scalar, float[]? perNeuron, string? text, bool flag)
    {
        Kind = kind;
        Scalar = scalar;
        PerNeuron = perNeuron;
        Text = text;
        Flag = flag;
    }

    public ParamKind Kind { get; }

    /// <summary>The number when <see cref="Kind"/> is Number and <see cref="PerNeuron"/> is null.</summary>
    public double Scalar { get; }

    /// <summary>One value per neuron, or null for a scalar.</summary>
    public float[]? PerNeuron { get; }

    public string? Text { get; }

    public bool Flag { get; }

    public bool IsPerNeuron => PerNeuron is not null;

    public static ParamValue Number(double value) => new(ParamKind.Number, value, null, null, false);

    public static ParamValue Numbers(float[] values) => new(ParamKind.Number, 0, values, null, false);

    public static ParamValue Choice(string text) => new(ParamKind.Choice, 0, null, text, false);

    public static ParamValue Switch(bool flag) => new(ParamKind.Flag, 0, null, null, flag);

    public override string ToString() => Kind switch
    {
        ParamKind.Number when PerNeuron is not null => $"[{PerNeuron.Length} values]",
        ParamKind.Number => Scalar.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ParamKind.Choice => Text ?? "",
        _ => Flag ? "true" : "false",
    };
}

/// <summary>Catalogue entry of one parameter.</summary>
/// <param name="Name">The library's constructor name.</param>
/// <param name="Kind">Number, choice or flag.</param>
/// <param name="Default">Default as text; "none" where the library's default is None.</param>
/// <param name="Range">Allowed range of a number as text, e.g. "[0, 1]", "> 0".</param>
/// <param name="Choices">Allowed values of a choice; empty otherwise.</param>
/// <param name="PerNeuron">Whether a number may be given per neuron.</param>
/// <param name="Description">What it does.</param>
public sealed record ParameterDescriptor(
    string Name,
    ParamKind Kind,
    string Default,
    string Range,
    IReadOnlyList<string> Choices,
    bool PerNeuron,
    string Description);

/// <summary>A parameter that is unknown, out of range, of the wrong kind or length.</summary>
public sealed class ModelParameterException(string parameter, string message) : Exception(message)
{
    /// <summary>The offending parameter's name.</summary>
    public string Parameter { get; } = parameter;
}
