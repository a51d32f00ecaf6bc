namespace Snn.Server.Engine;

/// <summary>
/// A connection from a source population to a target population. It adds the source's spike values
/// (of the same step or of the previous one, see <see cref="SameStep"/>) into the target's input.
/// Weights are shared by all instances; delivery works on one instance's slice at a time.
/// </summary>
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

    /// <summary>For a previous-step projection: whether its bias is added at step 0.</summary>
    public bool BiasOnFirstStep { get; } = biasOnFirstStep;

    public abstract ProjectionKind Kind { get; }

    /// <summary>Number of weights.</summary>
    public abstract long Synapses { get; }

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

    /// <summary>Installs weights prepared by <see cref="PrepareWeights"/>. Loop thread only.</summary>
    public abstract void Install(PreparedWeights prepared);

    /// <summary>Whether this projection's bias applies at <paramref name="step"/>.</summary>
    public bool BiasAt(long step) => SameStep || step > 0 || BiasOnFirstStep;
}

/// <summary>Replacement weights, already laid out for the projection.</summary>
internal sealed record PreparedWeights(float[]? Weights, float[]? Bias);
