using System.Numerics;
using System.Runtime.CompilerServices;

namespace Snn.Server.Models;

/// <summary><c>snntorch.Leaky</c>: first-order leaky integrate-and-fire (SEMANTICS.md §2.2).</summary>
public sealed class SnnTorchLeakyModel : NeuronModel
{
    public override string Name => "snntorch.Leaky";

    public override string LibraryClass => "snntorch.Leaky";

    public override string Description =>
        "mem = beta*mem + x with the reset of the previous step's spike (reset_delay) or an immediate one; " +
        "spike when mem - threshold > 0, emitted as graded_spikes_factor.";

    public override IReadOnlyList<ParameterDescriptor> Parameters { get; } =
    [
        SnnTorch.Beta("Membrane decay per step."),
        SnnTorch.Threshold,
        SnnTorch.ResetMechanism("subtract"),
        SnnTorch.ResetDelay,
        SnnTorch.GradedSpikesFactor,
        SnnTorch.Inhibition,
    ];

    public override IReadOnlyList<string> StateVariables { get; } = ["mem"];

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        var r = new ParameterReader(this, parameters, size);
        var l = SnnTorch.ReadLeaky(r, Name);
        var rule = new SnnTorchLeakyRule(l.Reset, l.Delay, l.Inhibition);
        return new SnnTorchKernel<SnnTorchLeakyRule>(size, rule, l.Inhibition, 0, -1, l.Threshold, l.Graded, l.Reset, !l.Delay,
            l.Beta, l.Threshold, l.Graded);
    }
}

/// <summary>Lanes: 0 beta (clamped), 1 threshold, 2 graded_spikes_factor. State: mem.</summary>
internal readonly struct SnnTorchLeakyRule(SnnTorchReset reset, bool delay, bool inhibition) : IVectorRule
{
    public int StateCount => 1;

    public bool UsesRecurrent => false;

    internal SnnTorchReset Reset => reset;

    internal bool Delay => delay;

    internal bool Inhibition => inhibition;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(in ParamLanes p, ref Vector<float> mem, ref Vector<float> unused1, ref Vector<float> unused2, ref Vector<float> unused3,
        Vector<float> x, Vector<float> rec, out Vector<float> spikes)
    {
        var beta = p[0];
        var thr = p[1];

        // Delayed reset from the stored mem of the previous step.
        var r = SnnTorch.H(mem - thr);

        // Integrate.
        mem = reset switch
        {
            SnnTorchReset.Subtract => (beta * mem + x) - r * thr,
            SnnTorchReset.Zero => beta * ((Vector<float>.One - r) * mem) + x,
            _ => beta * mem + x,
        };

        if (inhibition)
        {
            spikes = r; // the kernel's inhibition pass fires and resets
            return;
        }

        // Fire.
        spikes = SnnTorch.H(mem - thr) * p[2];

        // Immediate reset ("avoid double reset").
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
