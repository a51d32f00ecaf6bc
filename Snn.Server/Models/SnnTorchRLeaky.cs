using System.Numerics;
using System.Runtime.CompilerServices;

namespace Snn.Server.Models;

/// <summary>
/// <c>snntorch.RLeaky</c>: Leaky with a recurrent input (SEMANTICS.md §2.5). The recurrent
/// connection itself (snntorch's <c>all_to_all</c>/<c>linear_features</c> dense layer with bias, or
/// the one-to-one <c>V</c>) is the population's self-projection marked recurrent; the engine
/// delivers its output (of the previous step's spikes) in <c>rec</c>.
/// </summary>
public sealed class SnnTorchRLeakyModel : NeuronModel
{
    public override string Name => "snntorch.RLeaky";

    public override string LibraryClass => "snntorch.RLeaky";

    public override string Description =>
        "mem = (beta*mem + x) + rec(spk_prev) with the reset of the previous step's spike (reset_delay) or an immediate one; " +
        "the zero reset clears the whole new value. The recurrent weights are the self-projection marked recurrent.";

    public override bool HasRecurrentInput => true;

    public override IReadOnlyList<ParameterDescriptor> Parameters { get; } =
    [
        SnnTorch.Beta("Membrane decay per step."),
        SnnTorch.Threshold,
        SnnTorch.ResetMechanism("subtract"),
        SnnTorch.ResetDelay,
        SnnTorch.GradedSpikesFactor,
        SnnTorch.Inhibition,
    ];

    public override IReadOnlyList<string> StateVariables { get; } = ["spk", "mem"];

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        var r = new ParameterReader(this, parameters, size);
        var l = SnnTorch.ReadLeaky(r, Name);
        var rule = new SnnTorchRLeakyRule(l.Reset, l.Delay, l.Inhibition);
        return new SnnTorchKernel<SnnTorchRLeakyRule>(size, rule, l.Inhibition, 1, 0, l.Threshold, l.Graded, l.Reset, !l.Delay,
            l.Beta, l.Threshold, l.Graded);
    }
}

/// <summary>Lanes: 0 beta (clamped), 1 threshold, 2 graded_spikes_factor. States: spk, mem.</summary>
internal readonly struct SnnTorchRLeakyRule(SnnTorchReset reset, bool delay, bool inhibition) : IVectorRule
{
    public int StateCount => 2;

    public bool UsesRecurrent => true;

    internal SnnTorchReset Reset => reset;

    internal bool Delay => delay;

    internal bool Inhibition => inhibition;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(in ParamLanes p, ref Vector<float> spk, ref Vector<float> mem, ref Vector<float> unused2, ref Vector<float> unused3,
        Vector<float> x, Vector<float> rec, out Vector<float> spikes)
    {
        var thr = p[1];

        // Delayed reset from the stored mem of the previous step.
        var r = SnnTorch.H(mem - thr);

        // Integrate: recurrent contribution added after the input.
        var baseValue = (p[0] * mem + x) + rec;
        mem = reset switch
        {
            SnnTorchReset.Subtract => baseValue - r * thr,
            SnnTorchReset.Zero => baseValue - r * baseValue,
            _ => baseValue,
        };

        if (inhibition)
        {
            spikes = r; // the kernel's inhibition pass fires, resets and stores spk
            return;
        }

        spikes = SnnTorch.H(mem - thr) * p[2];
        spk = spikes;

        if (!delay)
        {
            var doReset = spikes / p[2] - r;
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
