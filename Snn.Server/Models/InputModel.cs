namespace Snn.Server.Models;

/// <summary>
/// <c>input</c>: a population without dynamics. Its spikes at a step are exactly what arrives for
/// that step (external events with their values, plus anything projected into it).
/// </summary>
public sealed class InputModel : NeuronModel
{
    public override string Name => "input";

    public override string LibraryClass => "(none: network input)";

    public override string Description =>
        "No state. Its spikes at a step are the events sent to it for that step, with their values.";

    public override IReadOnlyList<ParameterDescriptor> Parameters => [];

    public override IReadOnlyList<string> StateVariables => [];

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        foreach (var name in parameters.Keys)
        {
            throw new ModelParameterException(name, $"model '{Name}' has no parameter '{name}'; it takes none");
        }

        return new PassthroughKernel(size);
    }
}

/// <summary>
/// <c>passthrough</c>: no state; its output at a step is its summed input. Expresses chains with no
/// neuron layer between two operations, such as sum pooling followed by a dense layer.
/// </summary>
public sealed class PassthroughModel : NeuronModel
{
    public override string Name => "passthrough";

    public override string LibraryClass => "(none: identity)";

    public override string Description =>
        "No state. Its output at a step is its summed input of that step, passed on to its projections.";

    public override IReadOnlyList<ParameterDescriptor> Parameters => [];

    public override IReadOnlyList<string> StateVariables => [];

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        foreach (var name in parameters.Keys)
        {
            throw new ModelParameterException(name, $"model '{Name}' has no parameter '{name}'; it takes none");
        }

        return new PassthroughKernel(size);
    }
}

/// <summary>Copies the input current to the output.</summary>
internal sealed class PassthroughKernel(int size) : NeuronKernel(size)
{
    public override void Initialize(float[][] state, int firstInstance, int instanceCount)
    {
    }

    public override void Step(float[][] state, float[] x, float[] rec, float[] spikes,
        int firstInstance, int instanceCount, int neuronStart, int neuronEnd)
    {
        for (int inst = firstInstance; inst < firstInstance + instanceCount; inst++)
        {
            int b = inst * Size;
            x.AsSpan(b + neuronStart, neuronEnd - neuronStart).CopyTo(spikes.AsSpan(b + neuronStart));
        }
    }
}
