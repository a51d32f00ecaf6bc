namespace Snn.Server.Models;

/// <summary>A population without state whose output at a step is its summed input of that step.</summary>
public abstract class StatelessModel(string name, string libraryClass, string description) : NeuronModel
{
    public override string Name => name;

    public override string LibraryClass => libraryClass;

    public override string Description => description;

    public override IReadOnlyList<ParameterDescriptor> Parameters => [];

    public override IReadOnlyList<string> StateVariables => [];

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        foreach (var parameter in parameters.Keys)
        {
            throw new ModelParameterException(parameter, $"model '{Name}' has no parameter '{parameter}'; it takes none");
        }

        return new PassthroughKernel(size);
    }
}

/// <summary>
/// <c>input</c>: where events enter. Its spikes at a step are exactly what arrives for that step
/// (external events with their values, plus anything projected into it).
/// </summary>
public sealed class InputModel() : StatelessModel("input", "(none: network input)",
    "No state. Its spikes at a step are the events sent to it for that step, with their values.");

/// <summary>
/// <c>passthrough</c>: expresses chains with no neuron layer between two operations, such as sum
/// pooling followed by a dense layer.
/// </summary>
public sealed class PassthroughModel() : StatelessModel("passthrough", "(none: identity)",
    "No state. Its output at a step is its summed input of that step, passed on to its projections.");

/// <summary>Copies the input current to the output (nothing to do when the two share a buffer).</summary>
internal sealed class PassthroughKernel(int size) : NeuronKernel(size)
{
    public override void Initialize(float[][] state, int firstInstance, int instanceCount)
    {
    }

    public override void Step(float[][] state, float[] x, float[] rec, float[] spikes,
        int firstInstance, int instanceCount, int neuronStart, int neuronEnd)
    {
        if (ReferenceEquals(x, spikes))
        {
            return;
        }

        for (int inst = firstInstance; inst < firstInstance + instanceCount; inst++)
        {
            int b = inst * Size;
            x.AsSpan(b + neuronStart, neuronEnd - neuronStart).CopyTo(spikes.AsSpan(b + neuronStart));
        }
    }
}
