namespace Snn.Server.Engine;

/// <summary>
/// Per instance of a population, what external input the loop wrote into its <see cref="Population.Input"/>
/// row for the coming step: nothing, input at a few neurons (their indices, up to <see cref="Capacity"/>),
/// or the whole row (a dense current, or more events than that). A device backend uploads the row, or
/// only the entries the events touched: an event list (index and final value), which is exact because
/// the loop has already summed the events into the row in their order.
/// </summary>
internal sealed class ExternalInputMarks(int instances, int size)
{
    private readonly bool[] _any = new bool[instances];
    private readonly bool[] _dense = new bool[instances];
    private readonly int[] _count = new int[instances];
    private int[]? _indices;

    /// <summary>Neurons an instance's event list may name before the row is sent whole (an eighth of the population, 16 to 65,536).</summary>
    public int Capacity { get; } = Math.Min(size, Math.Clamp(size / 8, 16, 1 << 16));

    /// <summary>Whether the instance has external input this step.</summary>
    public bool Any(int instance) => _any[instance];

    /// <summary>Whether the instance's whole row is to be sent (else its events).</summary>
    public bool Dense(int instance) => _dense[instance];

    /// <summary>The neurons the instance's events touched (repeats possible), when not <see cref="Dense"/>.</summary>
    public ReadOnlySpan<int> Events(int instance) => _indices is null ? [] : _indices.AsSpan(instance * Capacity, _count[instance]);

    /// <summary>The whole row holds input.</summary>
    public void MarkRow(int instance)
    {
        _any[instance] = true;
        _dense[instance] = true;
    }

    /// <summary>Input was added at <paramref name="neuron"/>.</summary>
    public void MarkEvent(int instance, int neuron)
    {
        _any[instance] = true;
        if (_dense[instance])
        {
            return;
        }

        if (_count[instance] == Capacity)
        {
            _dense[instance] = true;
            return;
        }

        (_indices ??= new int[instances * Capacity])[instance * Capacity + _count[instance]++] = neuron;
    }

    /// <summary>No input (the row was cleared, or a backend took it).</summary>
    public void Clear(int instance)
    {
        _any[instance] = false;
        _dense[instance] = false;
        _count[instance] = 0;
    }
}
