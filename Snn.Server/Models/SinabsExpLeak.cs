using System.Numerics;
using System.Runtime.CompilerServices;

namespace Snn.Server.Models;

/// <summary>
/// <c>sinabs.ExpLeak</c>: sinabs.layers.ExpLeak, a LIF without a spike function or synaptic state
/// (<c>lif_forward_single</c> with <c>spike_fn=None</c>). The layer's output is v_mem as it stands
/// before the <c>min_v_mem</c> clip; the kernel writes it where spiking models write spikes, so
/// projections carry it and Run reports it as a graded value. sinabs's NIR importer builds it
/// (ExpLeakSqueeze, norm_input false) for <c>nir.LI</c>.
/// </summary>
public sealed class SinabsExpLeakModel : NeuronModel
{
    public override string Name => "sinabs.ExpLeak";

    public override string LibraryClass => "sinabs.layers.ExpLeak";

    public override string Description =>
        "Leaky integrator, no spikes: v = alpha_mem*v + x (x scaled by 1 - alpha_mem with norm_input), alpha_mem = exp(-1/tau_mem). " +
        "The output is v before the clip (a graded value for every neuron whose v is not 0); then v = relu(v - min_v_mem) + min_v_mem.";

    public override IReadOnlyList<ParameterDescriptor> Parameters { get; } =
    [
        Describe.Number("tau_mem", "required", NumberRange.Positive, true, "Membrane time constant in steps; alpha_mem = exp(-1/tau_mem)."),
        Describe.Number("min_v_mem", "none", NumberRange.Any, true,
            "Lower bound of the stored v: v = relu(v - min_v_mem) + min_v_mem after the output is taken; none = no bound."),
        Describe.Flag("norm_input", false, "Scale the input entering v by (1 - alpha_mem)."),
    ];

    public override IReadOnlyList<string> StateVariables { get; } = ["v_mem"];

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        var r = new ParameterReader(this, parameters, size);
        var tauMem = r.OptionalValues("tau_mem", NumberRange.Positive)
            ?? throw r.Error("tau_mem", $"model '{Name}' requires parameter 'tau_mem' (membrane time constant in steps, > 0)");
        var alphaMem = tauMem.Map(t => Float32.Exp(-1f / t));
        var oneMinusAlphaMem = alphaMem.Map(a => 1f - a);
        var minVMem = r.OptionalValues("min_v_mem", NumberRange.Any);
        bool normInput = r.Flag("norm_input", false);
        var rule = new SinabsExpLeakRule(normInput, minVMem is not null);
        return new SinabsExpLeakKernel(size, rule, alphaMem, oneMinusAlphaMem, minVMem ?? NeuronValues.Of(0f));
    }
}

/// <summary>Lanes: 0 alpha_mem, 1 (1 - alpha_mem), 2 min_v_mem. State: v_mem. Output: v_mem before the clip.</summary>
internal readonly struct SinabsExpLeakRule(bool normInput, bool clip) : IVectorRule
{
    public int StateCount => 1;

    public bool UsesRecurrent => false;

    internal bool NormInput => normInput;

    internal bool Clip => clip;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(in ParamLanes p, ref Vector<float> v, ref Vector<float> unused1, ref Vector<float> unused2, ref Vector<float> unused3,
        Vector<float> x, Vector<float> rec, out Vector<float> spikes)
    {
        // i_syn is the input (no tau_syn); norm_input scales what enters v.
        var syn = normInput ? p[1] * x : x;
        v = p[0] * v + syn;

        // No spike_fn: the output is a copy of v, taken before the clip.
        spikes = v;

        if (clip)
        {
            var d = v - p[2];
            v = Vector.ConditionalSelect(Vector.GreaterThan(d, Vector<float>.Zero), d, Vector<float>.Zero) + p[2];
        }
    }
}

/// <summary>Kernel of <c>sinabs.ExpLeak</c>. Initial state: zero.</summary>
internal sealed class SinabsExpLeakKernel(int size, SinabsExpLeakRule rule, params NeuronValues[] parameters)
    : VectorKernel<SinabsExpLeakRule>(size, rule, parameters)
{
    public override void Initialize(float[][] state, int firstInstance, int instanceCount) =>
        state[0].AsSpan(firstInstance * Size, instanceCount * Size).Clear();
}
