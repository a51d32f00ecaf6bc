using System.Numerics;
using System.Runtime.CompilerServices;

namespace Snn.Server.Models;

/// <summary>
/// <c>snntorch.Lapicque</c>: RC-circuit LIF (SEMANTICS.md §2.6). Given only beta, snntorch derives
/// R = 1 and C = time_step/(R*log(1/beta)), so the decay is 1 - time_step/(R*C), not beta.
/// </summary>
public sealed class SnnTorchLapicqueModel : NeuronModel
{
    public override string Name => "snntorch.Lapicque";

    public override string LibraryClass => "snntorch.Lapicque";

    public override string Description =>
        "mem = ((x*R)*(1/(R*C)))*time_step + (1 - time_step/(R*C))*mem with the reset of the previous step's spike; " +
        "spike when mem - threshold > 0. Give beta, or R and C, or beta with one of R, C.";

    public override IReadOnlyList<ParameterDescriptor> Parameters { get; } =
    [
        Describe.Number("beta", "none", NumberRange.OpenUnit, false, "Decay used to derive C (or R) as snntorch does; the update never uses beta itself."),
        Describe.Number("R", "none", NumberRange.Positive, false, "Resistance (1 when only beta is given)."),
        Describe.Number("C", "none", NumberRange.Positive, false, "Capacitance."),
        Describe.Number("time_step", "1", NumberRange.Positive, false, "Simulation time step in the units of R*C."),
        SnnTorch.Threshold,
        SnnTorch.ResetMechanism("subtract"),
        SnnTorch.Inhibition,
        SnnTorch.FixedGradedSpikesFactor,
    ];

    public override IReadOnlyList<string> StateVariables { get; } = ["mem"];

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        var rd = new ParameterReader(this, parameters, size);
        bool hasBeta = rd.Has("beta"), hasR = rd.Has("R"), hasC = rd.Has("C");
        float ts = rd.Scalar("time_step", 1f, NumberRange.Positive);
        float beta = hasBeta ? rd.Scalar("beta", 0f, NumberRange.OpenUnit) : 0f;
        float r = hasR ? rd.Scalar("R", 0f, NumberRange.Positive) : 0f;
        float c = hasC ? rd.Scalar("C", 0f, NumberRange.Positive) : 0f;

        // snntorch's _lapicque_cases.
        if (!hasBeta && !(hasR && hasC))
        {
            throw rd.Error(hasR ? "C" : hasC ? "R" : "beta",
                $"model '{Name}' needs beta, or both R and C, or beta with one of R, C; got R {(hasR ? "set" : "unset")}, C {(hasC ? "set" : "unset")}");
        }

        if (hasBeta && hasR && hasC)
        {
            throw rd.Error("beta", $"model '{Name}' takes beta or R and C, not all three (snntorch derives one from the others)");
        }

        if (hasBeta && !hasR && !hasC)
        {
            r = 1f;
            c = ts / (r * Float32.Log(1f / beta));
        }
        else if (hasBeta && hasR)
        {
            c = ts / (r * Float32.Log(1f / beta));
        }
        else if (hasBeta && hasC)
        {
            r = ts / (c * Float32.Log(1f / beta));
        }

        float rc = r * c;
        float invRc = 1f / rc;
        float decay = 1f - ts / rc;
        foreach (var (name, value) in new[] { ("R", r), ("C", c), ("1/(R*C)", invRc), ("decay", decay) })
        {
            if (!float.IsFinite(value) || value == 0f && name != "decay")
            {
                throw rd.Error(hasBeta ? "beta" : "C", $"parameters of model '{Name}' give {name} = {NumberRange.Text(value)}, which is unusable; choose other values");
            }
        }

        var threshold = rd.Values("threshold", 1f, NumberRange.Positive);
        var reset = SnnTorch.Reset(rd, "subtract");
        bool inhibition = rd.Flag("inhibition", false);
        var rule = new SnnTorchLapicqueRule(reset, inhibition);
        return new SnnTorchKernel<SnnTorchLapicqueRule>(size, rule, inhibition, 0, -1, threshold, NeuronValues.Of(1f), reset, false,
            NeuronValues.Of(r), NeuronValues.Of(invRc), NeuronValues.Of(ts), NeuronValues.Of(decay), threshold);
    }
}

/// <summary>Lanes: 0 R, 1 1/(R*C), 2 time_step, 3 decay = 1 - time_step/(R*C), 4 threshold. State: mem.</summary>
internal readonly struct SnnTorchLapicqueRule(SnnTorchReset reset, bool inhibition) : IVectorRule
{
    public int StateCount => 1;

    public bool UsesRecurrent => false;

    internal SnnTorchReset Reset => reset;

    internal bool Inhibition => inhibition;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(in ParamLanes p, ref Vector<float> mem, ref Vector<float> unused1, ref Vector<float> unused2, ref Vector<float> unused3,
        Vector<float> x, Vector<float> rec, out Vector<float> spikes)
    {
        var thr = p[4];
        var r = SnnTorch.H(mem - thr);
        var baseValue = ((x * p[0]) * p[1]) * p[2] + p[3] * mem;
        mem = reset switch
        {
            SnnTorchReset.Subtract => baseValue - r * thr,
            SnnTorchReset.Zero => baseValue - r * baseValue,
            _ => baseValue,
        };
        spikes = inhibition ? r : SnnTorch.H(mem - thr);
    }
}
