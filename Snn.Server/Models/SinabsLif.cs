using System.Numerics;
using System.Runtime.CompilerServices;

namespace Snn.Server.Models;

/// <summary>
/// <c>sinabs.LIF</c>: sinabs.layers.LIF, stepped as <c>lif_forward_single</c> (SEMANTICS.md §1.2).
/// sinabs *Recurrent layers are this model plus a self-projection.
/// </summary>
public sealed class SinabsLifModel : NeuronModel
{
    public override string Name => "sinabs.LIF";

    public override string LibraryClass => "sinabs.layers.LIF";

    public override string Description =>
        "Leaky integrate-and-fire of sinabs: i_syn = alpha_syn*(i_syn + x) (or x without tau_syn); " +
        "v = alpha_mem*v + (1-alpha_mem)*i_syn (norm_input); spikes compared after integration; reset; clip at min_v_mem.";

    public override IReadOnlyList<ParameterDescriptor> Parameters { get; } =
    [
        Describe.Number("tau_mem", "required", NumberRange.Positive, true, "Membrane time constant in steps; alpha_mem = exp(-1/tau_mem)."),
        .. SinabsLif.CommonParameters,
        Describe.Flag("norm_input", true, "Scale the current entering v by (1 - alpha_mem)."),
    ];

    public override IReadOnlyList<string> StateVariables => SinabsLif.States;

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        var r = new ParameterReader(this, parameters, size);
        var tauMem = r.OptionalValues("tau_mem", NumberRange.Positive)
            ?? throw r.Error("tau_mem", $"model '{Name}' requires parameter 'tau_mem' (membrane time constant in steps, > 0)");
        var alphaMem = tauMem.Map(t => Float32.Exp(-1f / t));
        var oneMinusAlphaMem = alphaMem.Map(a => 1f - a);
        return SinabsLif.Compile(r, size, alphaMem, oneMinusAlphaMem, r.Flag("norm_input", true));
    }
}

/// <summary>Parts shared by <c>sinabs.LIF</c> and <c>sinabs.IAF</c>.</summary>
internal static class SinabsLif
{
    public const string MultiSpike = "MultiSpike";
    public const string SingleSpike = "SingleSpike";
    public const string MembraneSubtract = "MembraneSubtract";
    public const string MembraneReset = "MembraneReset";

    public static readonly string[] States = ["v_mem", "i_syn"];

    public static readonly ParameterDescriptor[] CommonParameters =
    [
        Describe.Number("tau_syn", "none", NumberRange.Positive, true,
            "Synaptic time constant in steps; none = no synaptic state (i_syn is then the step's input)."),
        Describe.Number("spike_threshold", "1.0", NumberRange.Positive, true, "Firing threshold."),
        Describe.Choice("spike_fn", MultiSpike, [MultiSpike, SingleSpike],
            "MultiSpike: trunc(v/threshold) spikes when v > 0; SingleSpike: 1 spike when v - threshold >= 0."),
        Describe.Choice("reset_fn", MembraneSubtract, [MembraneSubtract, MembraneReset],
            "MembraneSubtract: v -= spikes*subtract_value; MembraneReset: a spiking neuron is set to reset_value."),
        Describe.Number("subtract_value", "none", NumberRange.Positive, true,
            "Amount subtracted per spike (MembraneSubtract); none = spike_threshold."),
        Describe.Number("reset_value", "0.0", NumberRange.Any, true,
            "Value a spiking neuron is set to (MembraneReset). Non-spiking neurons are untouched."),
        Describe.Number("min_v_mem", "none", NumberRange.Any, true,
            "Lower bound of v after the reset: v = relu(v - min_v_mem) + min_v_mem; none = no bound."),
    ];

    public static NeuronKernel Compile(ParameterReader r, int size, NeuronValues alphaMem, NeuronValues oneMinusAlphaMem, bool normInput)
    {
        var tauSyn = r.OptionalValues("tau_syn", NumberRange.Positive);
        var threshold = r.Values("spike_threshold", 1f, NumberRange.Positive);
        bool multiSpike = r.Choice("spike_fn", MultiSpike) == MultiSpike;
        bool resetToValue = r.Choice("reset_fn", MembraneSubtract) == MembraneReset;
        NeuronValues resetAmount;
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

            resetAmount = r.OptionalValues("subtract_value", NumberRange.Positive) ?? threshold;
        }

        var minVMem = r.OptionalValues("min_v_mem", NumberRange.Any);
        var alphaSyn = tauSyn?.Map(t => Float32.Exp(-1f / t)) ?? NeuronValues.Of(0f);
        var rule = new SinabsLifRule(tauSyn is not null, normInput, multiSpike, resetToValue, minVMem is not null);
        return new SinabsLifKernel(size, rule,
            alphaMem, oneMinusAlphaMem, alphaSyn, threshold, resetAmount, minVMem ?? NeuronValues.Of(0f));
    }
}

/// <summary>
/// One step of sinabs <c>lif_forward_single</c>. Lanes: 0 alpha_mem, 1 (1 - alpha_mem), 2 alpha_syn,
/// 3 spike_threshold, 4 subtract_value or reset_value, 5 min_v_mem. States: v_mem, i_syn.
/// </summary>
internal readonly struct SinabsLifRule(bool synaptic, bool normInput, bool multiSpike, bool resetToValue, bool clip) : IVectorRule
{
    public int StateCount => 2;

    public bool UsesRecurrent => false;

    internal bool Synaptic => synaptic;

    internal bool NormInput => normInput;

    internal bool MultiSpike => multiSpike;

    internal bool ResetToValue => resetToValue;

    internal bool Clip => clip;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(in ParamLanes p, ref Vector<float> v, ref Vector<float> i, ref Vector<float> unused2, ref Vector<float> unused3,
        Vector<float> x, Vector<float> rec, out Vector<float> spikes)
    {
        // Input: the synaptic filter adds the input before the decay; without tau_syn i_syn is the input.
        i = synaptic ? p[2] * (i + x) : x;

        // Integrate: norm_input scales only what enters v (IAF: alpha_mem = 1 exactly).
        var syn = normInput ? p[1] * i : i;
        v = p[0] * v + syn;

        // Fire, compared after integration.
        spikes = multiSpike
            ? Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.Zero), Vector.Truncate(v / p[3]), Vector<float>.Zero)
            : Vector.ConditionalSelect(Vector.GreaterThanOrEqual(v - p[3], Vector<float>.Zero), Vector<float>.One, Vector<float>.Zero);

        // Reset.
        v = resetToValue
            ? Vector.ConditionalSelect(Vector.Equals(spikes, Vector<float>.Zero), v, p[4])
            : v - spikes * p[4];

        // Clip: relu(v - min) + min (not max(v, min): the rounding differs).
        if (clip)
        {
            var d = v - p[5];
            v = Vector.ConditionalSelect(Vector.GreaterThan(d, Vector<float>.Zero), d, Vector<float>.Zero) + p[5];
        }
    }
}

/// <summary>Kernel of <c>sinabs.LIF</c> and <c>sinabs.IAF</c>. Initial state: all zero.</summary>
internal sealed class SinabsLifKernel(int size, SinabsLifRule rule, params NeuronValues[] parameters)
    : VectorKernel<SinabsLifRule>(size, rule, parameters)
{
    public override void Initialize(float[][] state, int firstInstance, int instanceCount)
    {
        foreach (var s in state)
        {
            s.AsSpan(firstInstance * Size, instanceCount * Size).Clear();
        }
    }
}
