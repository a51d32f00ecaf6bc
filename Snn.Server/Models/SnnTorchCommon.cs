using System.Numerics;
using System.Runtime.CompilerServices;

namespace Snn.Server.Models;

/// <summary>snntorch <c>reset_mechanism</c>.</summary>
internal enum SnnTorchReset
{
    Subtract = 0,
    Zero = 1,
    None = 2,
}

/// <summary>Parameters and pieces shared by the snntorch neurons (SEMANTICS.md §2).</summary>
internal static class SnnTorch
{
    public const string ClampedRange = "any finite number; clamped to [0, 1] at every use, as snntorch does";

    public static ParameterDescriptor Beta(string description) =>
        Describe.Number("beta", "required", ClampedRange, true, description);

    public static readonly ParameterDescriptor Threshold =
        Describe.Number("threshold", "1.0", NumberRange.Positive, true, "Firing threshold: spike when mem - threshold > 0.");

    public static ParameterDescriptor ResetMechanism(string defaultValue) =>
        Describe.Choice("reset_mechanism", defaultValue, ["subtract", "zero", "none"],
            "subtract: mem -= threshold after a spike; zero: mem set to 0; none: no reset.");

    public static readonly ParameterDescriptor ResetDelay =
        Describe.Flag("reset_delay", true,
            "true: the reset of a spike is applied at the next step; false: immediately (with snntorch's double-reset compensation).");

    public static readonly ParameterDescriptor GradedSpikesFactor =
        Describe.Number("graded_spikes_factor", "1.0", NumberRange.Positive, true, "Value of an emitted spike.");

    /// <summary>For models without a graded_spikes_factor argument: 1 is accepted, anything else refused.</summary>
    public static readonly ParameterDescriptor FixedGradedSpikesFactor =
        Describe.Number("graded_spikes_factor", "1.0", "1 only (fixed for this model)", false,
            "This model has no graded_spikes_factor argument in snntorch; the value 1 is accepted so uniform parameter sets load.");

    public const string NoGradedFactor = "this snntorch model has no graded_spikes_factor argument (its spikes are 1)";

    public static readonly ParameterDescriptor Inhibition =
        Describe.Flag("inhibition", false,
            "Only the neuron with the largest mem - threshold of an instance may spike (first one on ties). Couples the neurons of an instance.");

    /// <summary>The parameters Leaky and RLeaky share, read and checked.</summary>
    public static LeakySettings ReadLeaky(ParameterReader r, string model) => new(
        Clamp01(Required(r, model, "beta", NumberRange.Any)),
        r.Values("threshold", 1f, NumberRange.Positive),
        Reset(r, "subtract"),
        r.Flag("reset_delay", true),
        r.Values("graded_spikes_factor", 1f, NumberRange.Positive),
        r.Flag("inhibition", false));

    public static SnnTorchReset Reset(ParameterReader r, string defaultValue) => r.Choice("reset_mechanism", defaultValue) switch
    {
        "subtract" => SnnTorchReset.Subtract,
        "zero" => SnnTorchReset.Zero,
        _ => SnnTorchReset.None,
    };

    /// <summary><c>x.clamp(0, 1)</c>.</summary>
    public static NeuronValues Clamp01(NeuronValues v) => v.Map(b => Math.Clamp(b, 0f, 1f));

    /// <summary>A required number; snntorch raises a TypeError when it is missing.</summary>
    public static NeuronValues Required(ParameterReader r, string model, string name, NumberRange range) =>
        r.OptionalValues(name, range) ?? throw r.Error(name, $"model '{model}' requires parameter '{name}'");

    /// <summary>Heaviside as snntorch's atan surrogate computes it forward: <c>x &gt; 0</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> H(Vector<float> x) =>
        Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), Vector<float>.One, Vector<float>.Zero);
}

/// <summary>
/// Kernel of the snntorch neurons. Without inhibition the rule does the whole step. With it, the
/// rule integrates and leaves this step's delayed-reset signal in the spike buffer; a per-instance
/// pass then lets only the first neuron with the largest <c>mem - threshold</c> fire
/// (<c>fire_inhibition</c>, no graded factor) and applies the immediate reset if
/// <c>reset_delay</c> is false. Initial state: all zero.
/// </summary>
internal sealed class SnnTorchKernel<TRule> : VectorKernel<TRule>, ISnnTorchInhibition
    where TRule : struct, IVectorRule
{
    public bool Inhibition => _inhibition;

    public int MemState => _memState;

    public int SpkState => _spkState;

    public NeuronValues Threshold => _threshold;

    public NeuronValues Graded => _graded;

    public SnnTorchReset Reset => _reset;

    public bool ImmediateReset => _immediateReset;

    private readonly bool _inhibition;
    private readonly int _memState;
    private readonly int _spkState;
    private readonly NeuronValues _threshold;
    private readonly NeuronValues _graded;
    private readonly SnnTorchReset _reset;
    private readonly bool _immediateReset;

    /// <param name="memState">Index of the <c>mem</c> state array.</param>
    /// <param name="spkState">Index of a <c>spk</c> state array (RLeaky), or -1.</param>
    public SnnTorchKernel(int size, TRule rule, bool inhibition, int memState, int spkState,
        NeuronValues threshold, NeuronValues graded, SnnTorchReset reset, bool immediateReset, params NeuronValues[] parameters)
        : base(size, rule, parameters)
    {
        _inhibition = inhibition;
        _memState = memState;
        _spkState = spkState;
        _threshold = threshold;
        _graded = graded;
        _reset = reset;
        _immediateReset = immediateReset;
    }

    public override bool SplittableAcrossNeurons => !_inhibition;

    public override void Initialize(float[][] state, int firstInstance, int instanceCount)
    {
        foreach (var s in state)
        {
            s.AsSpan(firstInstance * Size, instanceCount * Size).Clear();
        }
    }

    public override void Step(float[][] state, float[] x, float[] rec, float[] spikes,
        int firstInstance, int instanceCount, int neuronStart, int neuronEnd)
    {
        if (_inhibition && (neuronStart != 0 || neuronEnd != Size))
        {
            throw new InvalidOperationException("inhibition couples all neurons of an instance; step them together");
        }

        base.Step(state, x, rec, spikes, firstInstance, instanceCount, neuronStart, neuronEnd);
        if (!_inhibition)
        {
            return;
        }

        for (int inst = firstInstance; inst < firstInstance + instanceCount; inst++)
        {
            int o = inst * Size;
            Inhibit(state[_memState].AsSpan(o, Size), spikes.AsSpan(o, Size),
                _spkState >= 0 ? state[_spkState].AsSpan(o, Size) : []);
        }
    }

    /// <param name="spikes">On entry the delayed-reset signal of this step; on return the spikes.</param>
    private void Inhibit(Span<float> mem, Span<float> spikes, Span<float> spkState)
    {
        int winner = 0;
        float best = mem[0] - _threshold.At(0);
        for (int j = 1; j < mem.Length; j++)
        {
            float d = mem[j] - _threshold.At(j);
            if (d > best)
            {
                best = d;
                winner = j;
            }
        }

        for (int j = 0; j < mem.Length; j++)
        {
            float reset = spikes[j];
            float spk = j == winner && mem[j] - _threshold.At(j) > 0f ? 1f : 0f;
            if (_immediateReset)
            {
                float doReset = spk / _graded.At(j) - reset;
                if (_reset == SnnTorchReset.Subtract)
                {
                    mem[j] = mem[j] - doReset * _threshold.At(j);
                }
                else if (_reset == SnnTorchReset.Zero)
                {
                    mem[j] = mem[j] - doReset * mem[j];
                }
            }

            spikes[j] = spk;
            if (!spkState.IsEmpty)
            {
                spkState[j] = spk;
            }
        }
    }
}

/// <summary>
/// What snntorch's inhibition pass needs (after the rule, per instance: only the neuron furthest above
/// its threshold may fire, then the immediate reset): a device backend runs it as its own kernel.
/// </summary>
internal interface ISnnTorchInhibition
{
    bool Inhibition { get; }

    /// <summary>Index of the mem state array.</summary>
    int MemState { get; }

    /// <summary>Index of a spk state array (RLeaky, RSynaptic), or -1.</summary>
    int SpkState { get; }

    NeuronValues Threshold { get; }

    NeuronValues Graded { get; }

    SnnTorchReset Reset { get; }

    bool ImmediateReset { get; }
}

/// <summary>Leaky/RLeaky parameters: beta (clamped), threshold, reset, reset_delay, graded factor, inhibition.</summary>
internal readonly record struct LeakySettings(
    NeuronValues Beta, NeuronValues Threshold, SnnTorchReset Reset, bool Delay, NeuronValues Graded, bool Inhibition);
