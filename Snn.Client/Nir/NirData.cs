namespace Snn.Client.Nir;

/// <summary>
/// Recorded activity in NIR's data IR (nir/data_ir, the NIR project's NIRGraphData): per node of a graph,
/// its observables by name. <see cref="NirDataWriter"/> writes it as nir.write_data does, and
/// nir.read_data reads it.
/// </summary>
public sealed record NirGraphData(IReadOnlyDictionary<string, NirNodeData> Nodes);

/// <summary>The observables of one node (a population): spikes as events, state variables on the time grid.</summary>
public sealed record NirNodeData(IReadOnlyDictionary<string, NirObservable> Observables);

/// <summary>One recorded quantity of a node.</summary>
public abstract record NirObservable;

/// <summary>
/// Values sampled every <see cref="Dt"/> seconds: NIR's TimeGriddedData, shape (samples, steps, neurons);
/// <see cref="Data"/> in row-major order (sample, then step, then neuron).
/// </summary>
public sealed record NirTimeGriddedData(float[] Data, int Samples, int Steps, int Neurons, double Dt) : NirObservable
{
    public NirTimeGriddedData(float[] data, int steps, int neurons, double dt) : this(data, 1, steps, neurons, dt)
    {
    }
}

/// <summary>
/// Events (spikes): NIR's EventData, <see cref="Idx"/> (neuron) and <see cref="Time"/> (seconds) of shape
/// (samples, events), row-major, with -1 and +inf padding where a sample has fewer events. <see cref="Values"/>
/// makes it ValuedEventData (graded spikes). <see cref="NNeurons"/> is the node's size, <see cref="TMax"/> the
/// recording's length in seconds.
/// </summary>
public sealed record NirEventData(long[] Idx, double[] Time, int Samples, int NNeurons, double TMax, float[]? Values = null) : NirObservable
{
    public int Events => Samples == 0 ? 0 : Idx.Length / Samples;
}
