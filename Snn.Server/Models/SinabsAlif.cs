using System.Numerics;
using System.Runtime.CompilerServices;

namespace Snn.Server.Models;

/// <summary>
/// <c>sinabs.ALIF</c>: sinabs.layers.ALIF, stepped as <c>alif_forward_single</c> (SEMANTICS.md §1.3).
/// The service carries i_syn across stream messages (sinabs' ALIF.forward does not write it back).
/// </summary>
public sealed class SinabsAlifModel : NeuronModel
{
    public override string Name => "sinabs.ALIF";

    public override string LibraryClass => "sinabs.layers.ALIF";

    public override string Description =>
        "Adaptive LIF of sinabs: threshold = spike_threshold + adapt_scale*b of the previous step; v integrates like LIF " +
        "(norm_input overwrites the stored i_syn); the reset subtracts the adaptive threshold; b = alpha_adapt*b + (1-alpha_adapt)*spikes.";

    public override IReadOnlyList<ParameterDescriptor> Parameters { get; } =
    [
        Describe.Number("tau_mem", "required", NumberRange.Positive, true, "Membrane time constant in steps."),
        Describe.Number("tau_adapt", "required", NumberRange.Positive, true, "Time constant of the threshold adaptation b, in steps."),
        Describe.Number("tau_syn", "none", NumberRange.Positive, true, "Synaptic time constant in steps; none = no synaptic filter."),
        Describe.Number("adapt_scale", "1.8", NumberRange.Any, false, "Weight of b in the threshold (a Python scalar, rounded to float32)."),
        Describe.Number("spike_threshold", "1.0", NumberRange.Positive, true, "Base threshold b0."),
        Describe.Choice("spike_fn", SinabsLif.SingleSpike, [SinabsLif.SingleSpike, SinabsLif.MultiSpike],
            "SingleSpike: 1 spike when v - threshold >= 0; MultiSpike: trunc(v/threshold) spikes when v > 0."),
        Describe.Choice("reset_fn", SinabsLif.MembraneSubtract, [SinabsLif.MembraneSubtract, SinabsLif.MembraneReset],
            "MembraneSubtract: v -= spikes*subtract_value; MembraneReset: a spiking neuron is set to reset_value."),
        Describe.Number("subtract_value", "none", NumberRange.Positive, true,
            "Amount subtracted per spike (MembraneSubtract); none = the adaptive threshold of the step."),
        Describe.Number("reset_value", "0.0", NumberRange.Any, true, "Value a spiking neuron is set to (MembraneReset)."),
        Describe.Number("min_v_mem", "none", NumberRange.Any, false,
            "Lower bound of v after the reset (a Python scalar): v = relu(v - min_v_mem) + min_v_mem; none = no bound."),
        Describe.Flag("norm_input", true, "Scale the current by (1 - alpha_mem); the scaled value is what i_syn stores."),
    ];

    public override IReadOnlyList<string> StateVariables { get; } = ["v_mem", "i_syn", "b", "spike_threshold"];

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        var r = new ParameterReader(this, parameters, size);
        var tauMem = r.OptionalValues("tau_mem", NumberRange.Positive)
            ?? throw r.Error("tau_mem", $"model '{Name}' requires parameter 'tau_mem' (membrane time constant in steps, > 0)");
        var tauAdapt = r.OptionalValues("tau_adapt", NumberRange.Positive)
            ?? throw r.Error("tau_adapt", $"model '{Name}' requires parameter 'tau_adapt' (adaptation time constant in steps, > 0)");
        var tauSyn = r.OptionalValues("tau_syn", NumberRange.Positive);
        float adaptScale = r.Scalar("adapt_scale", 1.8f, NumberRange.Any);
        var b0 = r.Values("spike_threshold", 1f, NumberRange.Positive);
        bool multiSpike = r.Choice("spike_fn", SinabsLif.SingleSpike) == SinabsLif.MultiSpike;
        bool resetToValue = r.Choice("reset_fn", SinabsLif.MembraneSubtract) == SinabsLif.MembraneReset;
        NeuronValues resetAmount;
        bool subtractAdaptive = false;
        if (resetToValue)
        {
            if (r.Has("subtract_value"))
            {
                throw r.Error("subtract_value", "parameter 'subtract_value' applies only to reset_fn \"MembraneSubtract\"; reset_fn is \"MembraneReset\" (use reset_value)");
            }

            resetAmount = r.Values("reset_value", 0f, NumberRange.Any);
        }
        else
        {
            if (r.Has("reset_value"))
            {
                throw r.Error("reset_value", "parameter 'reset_value' applies only to reset_fn \"MembraneReset\"; reset_fn is \"MembraneSubtract\" (use subtract_value)");
            }

            var subtract = r.OptionalValues("subtract_value", NumberRange.Positive);
            subtractAdaptive = subtract is null;
            resetAmount = subtract ?? NeuronValues.Of(0f);
        }

        bool clip = r.Has("min_v_mem");
        float minVMem = clip ? r.Scalar("min_v_mem", 0f, NumberRange.Any) : 0f;
        bool normInput = r.Flag("norm_input", true);

        var alphaMem = tauMem.Map(t => Float32.Exp(-1f / t));
        var alphaAdapt = tauAdapt.Map(t => Float32.Exp(-1f / t));
        var alphaSyn = tauSyn?.Map(t => Float32.Exp(-1f / t)) ?? NeuronValues.Of(0f);
        var rule = new SinabsAlifRule(tauSyn is not null, normInput, multiSpike, resetToValue, subtractAdaptive, clip);
        var initialThreshold = b0.Map(b => b + adaptScale * 0f);
        return new SinabsAlifKernel(size, rule, initialThreshold,
            alphaMem, alphaMem.Map(a => 1f - a), alphaSyn, b0, NeuronValues.Of(adaptScale),
            alphaAdapt, alphaAdapt.Map(a => 1f - a), resetAmount, NeuronValues.Of(minVMem));
    }
}

/// <summary>
/// One step of sinabs <c>alif_forward_single</c>. Lanes: 0 alpha_mem, 1 (1 - alpha_mem), 2 alpha_syn,
/// 3 b0, 4 adapt_scale, 5 alpha_adapt, 6 (1 - alpha_adapt), 7 subtract_value or reset_value, 8 min_v_mem.
/// States: v_mem, i_syn, b, spike_threshold.
/// </summary>
internal readonly struct SinabsAlifRule(bool synaptic, bool normInput, bool multiSpike, bool resetToValue, bool subtractAdaptive, bool clip)
    : IVectorRule
{
    public int StateCount => 4;

    public bool UsesRecurrent => false;

    internal bool Synaptic => synaptic;

    internal bool NormInput => normInput;

    internal bool MultiSpike => multiSpike;

    internal bool ResetToValue => resetToValue;

    internal bool SubtractAdaptive => subtractAdaptive;

    internal bool Clip => clip;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(in ParamLanes p, ref Vector<float> v, ref Vector<float> i, ref Vector<float> b, ref Vector<float> threshold,
        Vector<float> x, Vector<float> rec, out Vector<float> spikes)
    {
        // Input; norm_input overwrites the stored current (so the factor compounds with tau_syn).
        i = synaptic ? p[2] * (i + x) : x;
        if (normInput)
        {
            i = p[1] * i;
        }

        // Integrate.
        v = p[0] * v + i;

        // Fire against the threshold of b from the previous step.
        var thr = p[3] + p[4] * b;
        spikes = multiSpike
            ? Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.Zero), Vector.Truncate(v / thr), Vector<float>.Zero)
            : Vector.ConditionalSelect(Vector.GreaterThanOrEqual(v - thr, Vector<float>.Zero), Vector<float>.One, Vector<float>.Zero);

        // Reset: MembraneSubtract subtracts the adaptive threshold.
        v = resetToValue
            ? Vector.ConditionalSelect(Vector.Equals(spikes, Vector<float>.Zero), v, p[7])
            : v - spikes * (subtractAdaptive ? thr : p[7]);

        // Adapt; the recorded threshold is the one of the next step.
        b = p[5] * b + p[6] * spikes;
        threshold = p[3] + p[4] * b;

        // Clip.
        if (clip)
        {
            var d = v - p[8];
            v = Vector.ConditionalSelect(Vector.GreaterThan(d, Vector<float>.Zero), d, Vector<float>.Zero) + p[8];
        }
    }
}

/// <summary>Kernel of <c>sinabs.ALIF</c>. Initial state: zeros, spike_threshold = b0 + adapt_scale*0.</summary>
internal sealed class SinabsAlifKernel(int size, SinabsAlifRule rule, NeuronValues initialThreshold, params NeuronValues[] parameters)
    : VectorKernel<SinabsAlifRule>(size, rule, parameters)
{
    public override void Initialize(float[][] state, int firstInstance, int instanceCount)
    {
        for (int s = 0; s < 3; s++)
        {
            state[s].AsSpan(firstInstance * Size, instanceCount * Size).Clear();
        }

        Norse.Fill(state[3], initialThreshold, Size, firstInstance, instanceCount);
    }
}
