using System.Numerics;
using System.Runtime.CompilerServices;

namespace Snn.Server.Models;

/// <summary><c>snntorch.Alpha</c>: alpha-kernel neuron with two currents (SEMANTICS.md §2.4).</summary>
public sealed class SnnTorchAlphaModel : NeuronModel
{
    public override string Name => "snntorch.Alpha";

    public override string LibraryClass => "snntorch.Alpha";

    public override string Description =>
        "syn_exc = alpha*syn_exc + x; syn_inh = beta*syn_inh - x; mem = tau_alpha*(syn_exc + syn_inh) with " +
        "tau_alpha = log(alpha)/(log(beta) - log(alpha)) + 1; reset of the previous step's spike; spike when mem - threshold > 0.";

    public override IReadOnlyList<ParameterDescriptor> Parameters { get; } =
    [
        Describe.Number("alpha", "required", SnnTorch.ClampedRange + "; clamped alpha must be > beta", true, "Excitatory current decay per step."),
        Describe.Number("beta", "required", SnnTorch.ClampedRange + "; != 1", true, "Inhibitory current decay per step (faster than alpha)."),
        SnnTorch.Threshold,
        SnnTorch.ResetMechanism("zero"),
        SnnTorch.Inhibition,
        SnnTorch.FixedGradedSpikesFactor,
    ];

    public override IReadOnlyList<string> StateVariables { get; } = ["syn_exc", "syn_inh", "mem"];

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        var r = new ParameterReader(this, parameters, size);
        r.RequireFixed("graded_spikes_factor", 1f, SnnTorch.NoGradedFactor);
        var alpha = SnnTorch.Clamp01(SnnTorch.Required(r, Name, "alpha", NumberRange.Any)); // clamped when registered
        var rawBeta = SnnTorch.Required(r, Name, "beta", NumberRange.Any);

        // snntorch's _alpha_cases: (alpha <= beta).any() and (beta == 1).any() raise.
        int bad = rawBeta.FirstFailing(b => b != 1f);
        if (bad >= 0)
        {
            throw r.Error("beta", $"parameter 'beta' = {rawBeta.Describe(bad)} is not allowed: snntorch.Alpha requires beta != 1");
        }

        var alphaAboveBeta = NeuronValues.Zip(alpha, rawBeta, size, (a, b) => a > b ? 1f : 0f);
        bad = alphaAboveBeta.FirstFailing(v => v == 1f);
        if (bad >= 0)
        {
            throw r.Error("alpha", $"parameter 'alpha' (clamped to [0, 1]: {alpha.Describe(alpha.IsScalar ? 0 : bad)}) must be greater than beta ({rawBeta.Describe(rawBeta.IsScalar ? 0 : bad)}), as snntorch.Alpha requires");
        }

        var beta = SnnTorch.Clamp01(rawBeta);
        var tauAlpha = NeuronValues.Zip(alpha, beta, size, (a, b) =>
        {
            float logA = Float32.Log(a);
            return logA / (Float32.Log(b) - logA) + 1f;
        });
        r.RequireFinite(tauAlpha, "alpha", "tau_alpha = log(alpha)/(log(beta) - log(alpha)) + 1 (with alpha, beta clamped to [0, 1])");

        var threshold = r.Values("threshold", 1f, NumberRange.Positive);
        var reset = SnnTorch.Reset(r, "zero");
        bool inhibition = r.Flag("inhibition", false);
        var rule = new SnnTorchAlphaRule(reset, inhibition);
        return new SnnTorchKernel<SnnTorchAlphaRule>(size, rule, inhibition, 2, -1, threshold, NeuronValues.Of(1f), reset, false,
            alpha, beta, tauAlpha, threshold);
    }
}

/// <summary>Lanes: 0 alpha, 1 beta (clamped), 2 tau_alpha, 3 threshold. States: syn_exc, syn_inh, mem.</summary>
internal readonly struct SnnTorchAlphaRule(SnnTorchReset reset, bool inhibition) : IVectorRule
{
    public int StateCount => 3;

    public bool UsesRecurrent => false;

    internal SnnTorchReset Reset => reset;

    internal bool Inhibition => inhibition;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(in ParamLanes p, ref Vector<float> synExc, ref Vector<float> synInh, ref Vector<float> mem, ref Vector<float> unused3,
        Vector<float> x, Vector<float> rec, out Vector<float> spikes)
    {
        var thr = p[3];

        // Delayed reset from the stored mem of the previous step.
        var r = SnnTorch.H(mem - thr);

        // Two currents of opposite sign; mem does not depend on the previous mem.
        var synInhPrev = synInh;
        synExc = p[0] * synExc + x;
        synInh = p[1] * synInh - x;
        mem = p[2] * (synExc + synInh);

        if (reset == SnnTorchReset.Zero)
        {
            synExc = synExc - synExc * r;
            synInh = synInh - synInh * r;
            mem = mem - mem * r;
        }
        else if (reset == SnnTorchReset.Subtract)
        {
            synExc = synExc - thr * r;
            synInh = synInh - synInh * r;
            mem = mem - (-synInhPrev) * r;
        }

        // Fire: no graded factor, no reset_delay.
        spikes = inhibition ? r : SnnTorch.H(mem - thr);
    }
}
