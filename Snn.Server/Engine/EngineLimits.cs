namespace Snn.Server.Engine;

/// <summary>Sizes the engine accepts. Bound from configuration section <c>Snn:Limits</c>.</summary>
public sealed class EngineLimits
{
    /// <summary>Neurons in one population. Defaults to 16,777,216.</summary>
    public int MaxNeuronsPerPopulation { get; set; } = 1 << 24;

    /// <summary>Neurons in one network, all populations and instances counted once. Defaults to 67,108,864.</summary>
    public long MaxNeuronsPerNetwork { get; set; } = 1L << 26;

    /// <summary>Weights (synapses) in one network. Defaults to 268,435,456.</summary>
    public long MaxSynapsesPerNetwork { get; set; } = 1L << 28;

    /// <summary>Instances of one network. Defaults to 1,024.</summary>
    public int MaxInstances { get; set; } = 1024;

    /// <summary>Networks on the server. Defaults to 1,000.</summary>
    public int MaxNetworks { get; set; } = 1000;

    /// <summary>Populations or projections in one network. Defaults to 1,024.</summary>
    public int MaxLayers { get; set; } = 1024;

    /// <summary>How many steps ahead of an instance's next step an input may name. Defaults to 1,024.</summary>
    public int MaxInputHorizon { get; set; } = 1024;

    /// <summary>
    /// Largest synaptic delay of a projection, in steps. Each delayed projection keeps a delay line
    /// of lag × source size × instances values (lag = the delay, plus 1 for a projection that
    /// delivers the previous step), counted with the state values. Defaults to 4,096.
    /// </summary>
    public int MaxDelaySteps { get; set; } = 4096;

    /// <summary>Shortest REALTIME period (dt × realtime_factor), seconds. Defaults to 0.0001 (10 kHz).</summary>
    public double MinRealtimePeriod { get; set; } = 1e-4;

    /// <summary>Longest REALTIME period (dt × realtime_factor), seconds. Defaults to 3,600 (one tick an hour).</summary>
    public double MaxTickPeriod { get; set; } = 3600;

    /// <summary>Longest step, spec.dt, seconds. Defaults to 1.</summary>
    public double MaxDt { get; set; } = 1;

    /// <summary>State values (instances × neurons × variables) in one network. Defaults to 536,870,912 (2 GiB).</summary>
    public long MaxStateValuesPerNetwork { get; set; } = 1L << 29;

    /// <summary>
    /// Bytes all networks together may hold (state, input and spike buffers, weights, connectivity,
    /// delay lines). Defaults to <see cref="DefaultMemoryShare"/> of the memory the process may use
    /// (<see cref="GC.GetGCMemoryInfo()"/>.TotalAvailableMemoryBytes: physical memory, or the container's
    /// or GCHeapHardLimit's cap), leaving the rest to the server itself and the GC.
    /// </summary>
    public long MaxMemoryBytes { get; set; } = DefaultMaxMemoryBytes();

    /// <summary>The default budget's share of the memory the process may use: 75 %.</summary>
    public const double DefaultMemoryShare = 0.75;

    public static long DefaultMaxMemoryBytes() => (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * DefaultMemoryShare);

    /// <summary>Longest <see cref="MaxTickPeriod"/> a server may be configured with: 10^8 s (its Stopwatch ticks fit a long many times over).</summary>
    public const double TickPeriodCeiling = 1e8;

    /// <summary>Refuses settings the engine cannot honour; called at start.</summary>
    public void Validate()
    {
        foreach (var (name, value) in new (string, long)[]
        {
            (nameof(MaxNeuronsPerPopulation), MaxNeuronsPerPopulation), (nameof(MaxNeuronsPerNetwork), MaxNeuronsPerNetwork),
            (nameof(MaxSynapsesPerNetwork), MaxSynapsesPerNetwork), (nameof(MaxInstances), MaxInstances),
            (nameof(MaxNetworks), MaxNetworks), (nameof(MaxLayers), MaxLayers), (nameof(MaxInputHorizon), MaxInputHorizon),
            (nameof(MaxDelaySteps), MaxDelaySteps), (nameof(MaxStateValuesPerNetwork), MaxStateValuesPerNetwork),
        })
        {
            if (value < 0)
            {
                throw new InvalidOperationException($"Snn:Limits:{name} is {value}; it must be 0 or more");
            }
        }

        if (!(MinRealtimePeriod > 0 && double.IsFinite(MinRealtimePeriod)))
        {
            throw new InvalidOperationException($"Snn:Limits:MinRealtimePeriod is {MinRealtimePeriod}; it must be a positive number of seconds");
        }

        if (!(MaxTickPeriod >= MinRealtimePeriod && MaxTickPeriod <= TickPeriodCeiling))
        {
            throw new InvalidOperationException(
                $"Snn:Limits:MaxTickPeriod is {MaxTickPeriod}; it must be {MinRealtimePeriod}..{TickPeriodCeiling} seconds");
        }

        if (!(MaxDt > 0 && double.IsFinite(MaxDt)))
        {
            throw new InvalidOperationException($"Snn:Limits:MaxDt is {MaxDt}; it must be a positive number of seconds");
        }

        if (MaxMemoryBytes <= 0)
        {
            throw new InvalidOperationException($"Snn:Limits:MaxMemoryBytes is {MaxMemoryBytes}; it must be a positive number of bytes");
        }
    }
}
