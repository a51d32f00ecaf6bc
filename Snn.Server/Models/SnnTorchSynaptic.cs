using System.Numerics;
using System.Runtime.CompilerServices;

namespace Snn.Server.Models;

/// <summary><c>snntorch.Synaptic</c>: second-order LIF with a synaptic current (SEMANTICS.md §2.3).</summary>
public sealed class SnnTorchSynapticModel : NeuronModel
{
    public override string Name => "snntorch.Synaptic";

    public override string LibraryClass => "snntorch.Synaptic";

    public override string Description =>
        "syn = alpha*syn + x; mem = beta*mem + syn with the reset of the previous step's spike (reset_delay) or an immediate one; " +
        "spike when mem - threshold > 0.";

    public override IReadOnlyList<ParameterDescriptor> Parameters { get; } =
    [
        Describe.Number("alpha", "required", SnnTorch.ClampedRange, true, "Synaptic current decay per step."),
        SnnTorch.Beta("Membrane decay per step."),
        SnnTorch.Threshold,
        SnnTorch.ResetMechanism("subtract"),
        SnnTorch.ResetDelay,
        SnnTorch.Inhibition,
        SnnTorch.FixedGradedSpikesFactor,
    ];

    public override IReadOnlyList<string> StateVariables { get; } = ["syn", "mem"];

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        var r = new ParameterReader(this, parameters, size);
        r.RequireFixed("graded_spikes_factor", 1f, SnnTorch.NoGradedFactor);
        var alpha = SnnTorch.Clamp01(SnnTorch.Required(r, Name, "alpha", NumberRange.Any));
        var beta = SnnTorch.Clamp01(SnnTorch.Required(r, Name, "beta", NumberRange.Any));
        var threshold = r.Values("threshold", 1f, NumberRange.Positive);
        var reset = SnnTorch.Reset(r, "subtract");
        bool delay = r.Flag("reset_delay", true);
        bool inhibition = r.Flag("inhibition", false);
        var rule = new SnnTorchSynapticRule(reset, delay, inhibition);
        return new SnnTorchKernel<SnnTorchSynapticRule>(size, rule, inhibition, 1, -1, threshold, NeuronValues.Of(1f), reset, !delay,
            alpha, beta, threshold);
    }
}

/// <summary>Lanes: 0 alpha, 1 beta (both clamped), 2 threshold. States: syn, mem. Graded factor is 1.</summary>
internal readonly struct SnnTorchSynapticRule(SnnTorchReset reset, bool delay, bool inhibition) : IVectorRule
{
    public int StateCount => 2;

    public bool UsesRecurrent => false;

    internal SnnTorchReset Reset => reset;

    internal bool Delay => delay;

    internal bool Inhibition => inhibition;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(in ParamLanes p, ref Vector<float> syn, ref Vector<float> mem, ref Vector<float> unused2, ref Vector<float> unused3,
        Vector<float> x, Vector<float> rec, out Vector<float> spikes)
    {
        var thr = p[2];

        // Delayed reset from the stored mem of the previous step.
        var r = SnnTorch.H(mem - thr);

        // Integrate: the membrane sees the new current.
        syn = p[0] * syn + x;
        mem = p[1] * mem + syn;
        if (reset == SnnTorchReset.Subtract)
        {
            mem = mem - r * thr;
        }
        else if (reset == SnnTorchReset.Zero)
        {
            mem = mem - mem * r; // the whole new mem, this step's input included
        }

        if (inhibition)
        {
            spikes = r;
            return;
        }

        // Fire (graded factor 1: spk / 1 == spk).
        spikes = SnnTorch.H(mem - thr);

        if (!delay)
        {
            var doReset = spikes - r;
            if (reset == SnnTorchReset.Subtract)
            {
                mem = mem - doReset * thr;
            }
            else if (reset == SnnTorchReset.Zero)
            {
                mem = mem - doReset * mem;
            }
        }
    }
}
