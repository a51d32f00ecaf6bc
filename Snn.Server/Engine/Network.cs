namespace Snn.Server.Engine;

/// <summary>
/// A hosted network: populations, projections, the order they are stepped in, and its instances.
/// Only the step loop mutates it; handlers read its immutable parts and volatile counters.
/// </summary>
internal sealed class Network
{
    public Network(NetworkDefinition definition, Population[] populations, Projection[] projections, int[] order, int horizon)
    {
        // The projections hold the weights in their own layout; keeping the request's arrays as well
        // would double the memory of a large network. Populations keep their parameters (the
        // per-neuron ones are shared with the populations, not copied).
        Definition = definition with { Projections = [] };
        Populations = populations;
        Projections = projections;
        Order = order;
        Instances = new Instance[definition.Instances];
        for (int i = 0; i < Instances.Length; i++)
        {
            Instances[i] = new Instance(i, horizon);
        }

        if (definition.Clock == ClockMode.Realtime)
        {
            Clock = new RealtimeClock(definition.Dt * definition.RealtimeFactor);
        }

        int maxSize = populations.Max(p => p.Size);
        Scratch = new float[maxSize];
        Due = new int[Instances.Length];
        SpikesRead = new bool[populations.Length];
        foreach (var p in populations)
        {
            Neurons += p.Size;
        }

        foreach (var j in projections)
        {
            Synapses += j.Synapses;
            Connections += j.Connections;
        }

        Delayed = projections.Where(j => j.Delayed).ToArray();
    }

    /// <summary>The network's settings and populations as created (projections live in <see cref="Projections"/>).</summary>
    public NetworkDefinition Definition { get; }

    public string Name => Definition.Name;

    /// <summary>Populations in declaration order.</summary>
    public Population[] Populations { get; }

    /// <summary>Projections in declaration order.</summary>
    public Projection[] Projections { get; }

    /// <summary>Projections with a delay line, in declaration order: recorded after every step.</summary>
    public Projection[] Delayed { get; }

    /// <summary>Population indices in feed-forward order: the order they are stepped in.</summary>
    public int[] Order { get; }

    public Instance[] Instances { get; }

    /// <summary>The wall-clock schedule of a REALTIME network; null for LOCKSTEP.</summary>
    public RealtimeClock? Clock { get; }

    /// <summary>Working buffer of the largest population size, for projection sums. Loop thread only.</summary>
    public float[] Scratch { get; }

    /// <summary>Indices of the instances due this tick, ascending. Loop thread only.</summary>
    public int[] Due { get; }

    /// <summary>Per population: whether a sink of a due instance reads its spikes this chain (see <see cref="Backends.IComputeBackend.ReadSpikes"/>). Loop thread only.</summary>
    public bool[] SpikesRead { get; }

    public long Neurons { get; }

    public long Synapses { get; }

    /// <summary>The projections' <see cref="Projection.Connections"/>, one instance.</summary>
    public long Connections { get; }

    /// <summary>Set by the loop when the network is removed.</summary>
    public bool Deleted { get; set; }

    /// <summary>
    /// Where the backend steps the network and why ("on the device", "on the CPU backend, ..."), set at its first
    /// step and when that changes; null before. Written by the loop thread, read by RPC handlers (Network.steps_on).
    /// </summary>
    public string? StepsOn { get => Volatile.Read(ref _stepsOn); set => Volatile.Write(ref _stepsOn, value); }

    private string? _stepsOn;

    /// <summary>Seconds the loop took per step at this network's last stepping (bounds how long a chain of steps holds the loop). Loop thread only.</summary>
    public double StepSeconds { get; set; }

    public Population? FindPopulation(string name)
    {
        foreach (var p in Populations)
        {
            if (p.Name == name)
            {
                return p;
            }
        }

        return null;
    }

    public Projection? FindProjection(string name)
    {
        foreach (var j in Projections)
        {
            if (j.Name == name)
            {
                return j;
            }
        }

        return null;
    }

    /// <summary>Bytes of state, input, spike, weight and delay-line buffers.</summary>
    public long Bytes => StateBytes + SynapseBytes;

    /// <summary>Bytes of neuron state, input and spike buffers, all instances.</summary>
    public long StateBytes => Populations.Sum(p => p.Bytes);

    /// <summary>Bytes of weights, connectivity and delay lines.</summary>
    public long SynapseBytes => Projections.Sum(j => j.Bytes);
}
