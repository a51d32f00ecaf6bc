using System.Numerics;
using System.Runtime.CompilerServices;

namespace Snn.Server.Models;

/// <summary>
/// <c>snntorch.RSynaptic</c>: Synaptic with a recurrent input (snntorch/_neurons/rsynaptic.py), as
/// RLeaky is to Leaky. The recurrent connection (snntorch's <c>all_to_all</c>/<c>linear_features</c>
/// Linear with bias, or the one-to-one <c>V</c>) is the population's self-projection; the engine
/// delivers its output of the previous step's spikes in <c>rec</c>, which joins the synaptic current.
/// </summary>
public sealed class SnnTorchRSynapticModel : NeuronModel
{
    public override string Name => "snntorch.RSynaptic";

    public override string LibraryClass => "snntorch.RSynaptic";

    public override string Description =>
        "syn = (alpha*syn + x) + rec(spk_prev); mem = beta*mem + syn with the reset of the previous step's spike " +
        "(subtract: mem -= threshold; zero: mem cleared, syn kept); spike when mem - threshold > 0. " +
        "The recurrent weights are the self-projection.";

    public override bool HasRecurrentInput => true;

    public override IReadOnlyList<ParameterDescriptor> Parameters { get; } =
    [
        Describe.Number("alpha", "required", SnnTorch.ClampedRange, true, "Synaptic current decay per step."),
        SnnTorch.Beta("Membrane decay per step."),
        SnnTorch.Threshold,
        SnnTorch.ResetMechanism("subtract"),
        Describe.Flag("reset_delay", true,
            "Accepted either way; both give the delayed reset. snntorch RSynaptic assigns its immediate reset to a local " +
            "variable that forward() discards (and raises without explicit states), so its stored state is that of reset_delay=true."),
        SnnTorch.Inhibition,
        SnnTorch.FixedGradedSpikesFactor,
    ];

    public override IReadOnlyList<string> StateVariables { get; } = ["spk", "syn", "mem"];

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        var r = new ParameterReader(this, parameters, size);
        r.RequireFixed("graded_spikes_factor", 1f, SnnTorch.NoGradedFactor);
        var alpha = SnnTorch.Clamp01(SnnTorch.Required(r, Name, "alpha", NumberRange.Any));
        var beta = SnnTorch.Clamp01(SnnTorch.Required(r, Name, "beta", NumberRange.Any));
        var threshold = r.Values("threshold", 1f, NumberRange.Positive);
        var reset = SnnTorch.Reset(r, "subtract");
        r.Flag("reset_delay", true);
        bool inhibition = r.Flag("inhibition", false);
        var rule = new SnnTorchRSynapticRule(reset, inhibition);
        return new SnnTorchKernel<SnnTorchRSynapticRule>(size, rule, inhibition, 2, 0, threshold, NeuronValues.Of(1f), reset, false,
            alpha, beta, threshold);
    }
}

/// <summary>Lanes: 0 alpha, 1 beta (both clamped), 2 threshold. States: spk, syn, mem. Graded factor is 1.</summary>
internal readonly struct SnnTorchRSynapticRule(SnnTorchReset reset, bool inhibition) : IVectorRule
{
    public int StateCount => 3;

    public bool UsesRecurrent => true;

    internal SnnTorchReset Reset => reset;

    internal bool Inhibition => inhibition;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(in ParamLanes p, ref Vector<float> spk, ref Vector<float> syn, ref Vector<float> mem, ref Vector<float> unused3,
        Vector<float> x, Vector<float> rec, out Vector<float> spikes)
    {
        var thr = p[2];

        // Delayed reset from the stored mem of the previous step.
        var r = SnnTorch.H(mem - thr);

        // Integrate: the recurrent contribution joins the current after the input; mem sees the new current.
        syn = (p[0] * syn + x) + rec;
        mem = p[1] * mem + syn;
        if (reset == SnnTorchReset.Subtract)
        {
            mem = mem - r * thr;
        }
        else if (reset == SnnTorchReset.Zero)
        {
            mem = mem - mem * r; // syn is kept (snntorch subtracts 0*reset from it)
        }

        if (inhibition)
        {
            spikes = r; // the kernel's inhibition pass fires and stores spk
            return;
        }

        spikes = SnnTorch.H(mem - thr);
        spk = spikes;
    }
}
