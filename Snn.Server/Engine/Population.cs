using Snn.Server.Models;

namespace Snn.Server.Engine;

/// <summary>
/// A group of neurons of one model. Owns its buffers, laid out [instance][neuron]: one array per
/// state variable, the summed input current, the recurrent input (models that take one) and the spike
/// values of the last step. Contains no maths: its kernel steps it.
/// </summary>
internal sealed class Population
{
    public Population(int index, PopulationDefinition definition, NeuronModel model, NeuronKernel kernel, int instances)
    {
        Index = index;
        Name = definition.Name;
        Model = model;
        Kernel = kernel;
        Size = definition.Size;
        Shape = definition.Shape;
        Parameters = definition.Parameters;
        Instances = instances;
        int total = checked(Size * instances);
        State = new float[model.StateVariables.Count][];
        for (int v = 0; v < State.Length; v++)
        {
            State[v] = new float[total];
        }

        Input = new float[total];
        RecurrentInput = model.HasRecurrentInput ? new float[total] : [];
        Spikes = new float[total];
        kernel.Initialize(State, 0, instances);
    }

    public int Index { get; }

    public string Name { get; }

    public NeuronModel Model { get; }

    /// <summary>Compiled parameters and step function; replaced as a whole by SetParameters.</summary>
    public NeuronKernel Kernel { get; set; }

    /// <summary>Parameters as last set (for GetNetwork and for merging SetParameters).</summary>
    public IReadOnlyDictionary<string, ParamValue> Parameters { get; set; }

    public int Size { get; }

    public IReadOnlyList<int> Shape { get; }

    public int Instances { get; }

    public float[][] State { get; }

    public float[] Input { get; }

    public float[] RecurrentInput { get; }

    public float[] Spikes { get; private set; }

    /// <summary>Whether <see cref="Spikes"/> is the <see cref="Input"/> buffer itself (see <see cref="ShareSpikesWithInput"/>).</summary>
    public bool SpikesAreInput => ReferenceEquals(Spikes, Input);

    /// <summary>
    /// For a stateless population (input, passthrough) whose spikes nobody reads after the next step's
    /// input is cleared: its spikes are its summed input, so one buffer serves as both. Saves the copy
    /// and a buffer's worth of cache per step (a REALTIME tick over many small networks is bound by it).
    /// </summary>
    public void ShareSpikesWithInput()
    {
        if (Model is not StatelessModel)
        {
            throw new InvalidOperationException($"population '{Name}' has state; its spikes are not its input");
        }

        Spikes = Input;
    }

    /// <summary>
    /// Per instance: what external input the loop added to <see cref="Input"/> for the coming step. A
    /// device backend uploads those rows, or their events, and clears the marks. Made at the first input.
    /// </summary>
    public ExternalInputMarks InputMarks => _inputMarks ??= new ExternalInputMarks(Instances, Size);

    private ExternalInputMarks? _inputMarks;

    /// <summary>The marks if any input was ever marked (the loop clears them each step without making them).</summary>
    public ExternalInputMarks? InputMarksIfAny => _inputMarks;

    /// <summary>The instance's whole input row holds external input (a dense current, or a test's drive).</summary>
    public void MarkExternalInput(int instance) => InputMarks.MarkRow(instance);

    /// <summary>Projections into this population, in declaration order.</summary>
    public List<Projection> Incoming { get; } = [];

    public int VariableIndex(string name)
    {
        var vars = Model.StateVariables;
        for (int i = 0; i < vars.Count; i++)
        {
            if (vars[i] == name)
            {
                return i;
            }
        }

        return -1;
    }

    public Span<float> Slice(float[] buffer, int instance) => buffer.AsSpan(instance * Size, Size);

    /// <summary>
    /// Puts one instance back to the model's initial state, with no spikes, and empties the delay lines
    /// of the projections into this population (no spikes before step 0).
    /// </summary>
    public void Reset(int instance)
    {
        Kernel.Initialize(State, instance, 1);
        Slice(Spikes, instance).Clear();
        Slice(Input, instance).Clear();
        if (RecurrentInput.Length > 0)
        {
            Slice(RecurrentInput, instance).Clear();
        }

        foreach (var projection in Incoming)
        {
            projection.ResetDelayLine(instance);
        }
    }

    /// <summary>Bytes of state, input and spike buffers.</summary>
    public long Bytes => 4L * (State.Length + (SpikesAreInput ? 1 : 2)) * Input.Length + 4L * RecurrentInput.Length;
}
