namespace Snn.Server.Engine;

/// <summary>
/// A connection from a source population to a target population. It adds the source's spike values
/// (of the same step or of the previous one, see <see cref="SameStep"/>, and <see cref="DelaySteps"/>
/// earlier still) into the target's input. Weights are shared by all instances; delivery works on one
/// instance's slice at a time.
/// </summary>
/// <remarks>
/// Delays: a projection with <see cref="DelaySteps"/> &gt; 0 keeps a delay line per instance, a ring of
/// <see cref="Lag"/> copies of the source's spike values, zero at reset (no spikes before step 0). At
/// step t it delivers slot t mod lag, which holds the spikes of step t - lag, and after every
/// population has stepped, <see cref="Record"/> overwrites that slot with the spikes of step t. A
/// projection without delay has no ring and delivers the source's spike buffer directly: it holds this
/// step's spikes when the source comes first in the order, and still the previous step's otherwise.
/// </remarks>
internal abstract class Projection(string name, int index, Population source, Population target, bool biasOnFirstStep)
{
    public string Name { get; } = name;

    public int Index { get; } = index;

    public Population Source { get; } = source;

    public Population Target { get; } = target;

    /// <summary>Delivers the spikes of the same step (source earlier in the order) or of the previous step.</summary>
    public bool SameStep { get; set; }

    /// <summary>Adds into the target's recurrent input rather than its input current (snntorch RLeaky self-projection).</summary>
    public bool IntoRecurrentInput { get; set; }

    /// <summary>Whether the bias is added at the steps before the first delivered spikes (steps 0 .. lag-1).</summary>
    public bool BiasOnFirstStep { get; } = biasOnFirstStep;

    /// <summary>Synaptic delay in steps (0 = none).</summary>
    public int DelaySteps { get; init; }

    /// <summary>
    /// How many steps old the delivered spikes are: <see cref="DelaySteps"/>, plus 1 for a previous-step
    /// projection. Valid once the order is computed.
    /// </summary>
    public int Lag => DelaySteps + (SameStep ? 0 : 1);

    /// <summary>Delay line, [instance][slot][source neuron] with <see cref="Lag"/> slots; empty without delay.</summary>
    private float[] _history = [];

    private int _slots;

    public abstract ProjectionKind Kind { get; }

    /// <summary>Number of weights.</summary>
    public abstract long Synapses { get; }

    /// <summary>
    /// Source-to-target contributions a step of one instance can make when every source neuron is non-zero: one per
    /// weight for dense, one-to-one and sparse projections; for conv2d and sum pool, each output neuron's window. A
    /// device backend weighs it to tell how long a step takes on the CPU.
    /// </summary>
    public virtual long Connections => Synapses;

    /// <summary>
    /// Adds this projection's output for one instance into <paramref name="target"/>.
    /// <paramref name="scratch"/> has at least the target's size and holds no data on entry.
    /// </summary>
    public abstract void Deliver(ReadOnlySpan<float> source, Span<float> target, Span<float> scratch, bool addBias);

    /// <summary>Current weights in the spec's layout (a copy).</summary>
    public abstract float[] CopyWeights();

    /// <summary>Current bias (a copy), or null.</summary>
    public abstract float[]? CopyBias();

    /// <summary>Checks replacement weights; throws <see cref="EngineException"/> naming the field.</summary>
    public abstract PreparedWeights PrepareWeights(float[]? weights, float[]? bias, string field);

    /// <summary>A checked copy of a replacement bias[target], or null when none is given.</summary>
    protected float[]? PrepareTargetBias(float[]? bias, string field)
    {
        if (bias is not { Length: > 0 })
        {
            return null;
        }

        NetworkBuilder.CheckTargetBias(bias, Target, field + ".bias");
        return (float[])bias.Clone();
    }

    /// <summary>Installs weights prepared by <see cref="PrepareWeights"/>. Loop thread only.</summary>
    public abstract void Install(PreparedWeights prepared);

    /// <summary>
    /// Whether this projection's bias applies at <paramref name="step"/>: always, except at the steps
    /// before its first delivered spikes (step &lt; <see cref="Lag"/>) when <see cref="BiasOnFirstStep"/>
    /// is false.
    /// </summary>
    public bool BiasAt(long step) => BiasOnFirstStep || step >= Lag;

    /// <summary>Whether this projection keeps a delay line.</summary>
    public bool Delayed => DelaySteps > 0;

    /// <summary>Values in the delay line of one instance (0 without delay).</summary>
    public long DelayLineValues => Delayed ? (long)Lag * Source.Size : 0;

    /// <summary>Bytes of weights and delay lines.</summary>
    public virtual long Bytes => 4 * Synapses + 4L * _history.Length;

    /// <summary>Allocates the delay line (zero = no spikes yet). Called once the order is known.</summary>
    public void AllocateDelayLine(int instances)
    {
        if (Delayed)
        {
            _slots = Lag;
            _history = new float[checked(instances * _slots * Source.Size)];
        }
    }

    /// <summary>The spike values this projection delivers to <paramref name="instance"/> at <paramref name="step"/>.</summary>
    public ReadOnlySpan<float> DeliveredSpikes(int instance, long step)
    {
        int n = Source.Size;
        if (!Delayed)
        {
            return Source.Spikes.AsSpan(instance * n, n);
        }

        int slot = (int)(step % _slots);
        return _history.AsSpan((instance * _slots + slot) * n, n);
    }

    /// <summary>
    /// Stores the source's spikes of <paramref name="step"/> (every population has stepped) in the slot
    /// just delivered from. No-op without delay.
    /// </summary>
    public void Record(int instance, long step)
    {
        if (!Delayed)
        {
            return;
        }

        int n = Source.Size;
        int slot = (int)(step % _slots);
        Source.Spikes.AsSpan(instance * n, n).CopyTo(_history.AsSpan((instance * _slots + slot) * n, n));
    }

    /// <summary>The delay line, [instance][slot][source neuron] (empty without delay), for a device backend to mirror.</summary>
    internal float[] DelayLine => _history;

    /// <summary>Slots per instance in the delay line.</summary>
    internal int DelaySlots => _slots;

    /// <summary>Empties one instance's delay line (no spikes before step 0).</summary>
    public void ResetDelayLine(int instance)
    {
        if (Delayed)
        {
            int n = _slots * Source.Size;
            _history.AsSpan(instance * n, n).Clear();
        }
    }
}

/// <summary>
/// Replacement weights, checked off the loop thread. <paramref name="Layout"/> is a kind's delivery
/// layout of the new weights (CSR order, scatter order), prepared so that installing only swaps arrays.
/// </summary>
internal sealed record PreparedWeights(float[]? Weights, float[]? Bias, float[]? Layout = null);
