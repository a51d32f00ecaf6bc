using System.Numerics;
using System.Runtime.CompilerServices;

namespace Snn.Server.Models;

/// <summary><c>norse.LSNN</c>: norse LSNNCell, <c>lsnn_feed_forward_step</c> (SEMANTICS.md §3.4).</summary>
public sealed class NorseLsnnModel : NeuronModel
{
    public override string Name => "norse.LSNN";

    public override string LibraryClass => "norse.torch.LSNNCell";

    public override string Description =>
        "LIF with an adaptive threshold b: v integrates the previous current; b relaxes to v_th; spike when v - b > 0; " +
        "v set to v_reset and b += beta; the input is added to i last. Initial v = v_leak, i = 0, b = v_th.";

    public override IReadOnlyList<ParameterDescriptor> Parameters { get; } =
    [
        Norse.TauSynInv, Norse.TauMemInv,
        Describe.Number("tau_adapt_inv", "0.00125", NumberRange.Positive, true, "Inverse time constant of the threshold adaptation (1/s)."),
        Norse.VLeak, Norse.VTh, Norse.VReset,
        Describe.Number("beta", "1.8", NumberRange.Any, true, "Threshold increase per spike."),
        Norse.Method, Norse.Alpha, Norse.Dt(used: true),
    ];

    public override IReadOnlyList<string> StateVariables { get; } = ["v", "i", "b"];

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        var r = new ParameterReader(this, parameters, size);
        var l = Norse.ReadLifCore(r, networkDt);
        var beta = r.Values("beta", 1.8f, NumberRange.Any);
        var cA = Norse.Rate(r, l.Dt, "tau_adapt_inv", 1f / 800f);
        return new NorseLsnnKernel(size, l.VLeak, l.VTh, l.CM, l.NcS, cA, l.VLeak, l.VTh, l.VReset, beta);
    }
}

/// <summary>
/// Lanes: 0 dt*tau_mem_inv, 1 -dt*tau_syn_inv, 2 dt*tau_adapt_inv, 3 v_leak, 4 v_th, 5 v_reset, 6 beta.
/// States: v, i, b.
/// </summary>
internal readonly struct NorseLsnnRule : IVectorRule
{
    public int StateCount => 3;

    public bool UsesRecurrent => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(in ParamLanes p, ref Vector<float> v, ref Vector<float> i, ref Vector<float> b, ref Vector<float> unused3,
        Vector<float> x, Vector<float> rec, out Vector<float> spikes)
    {
        // Decay: the voltage sees the OLD current; b relaxes towards v_th.
        var vDecayed = v + p[0] * ((p[3] - v) + i);
        var iDecayed = i + p[1] * i;
        var bDecayed = b + p[2] * (p[4] - b);

        // Fire against the adaptive threshold; reset v, raise b.
        var z = Norse.H(vDecayed - bDecayed);
        v = (Vector<float>.One - z) * vDecayed + z * p[5];
        b = bDecayed + z * p[6];

        // Input jump last.
        i = iDecayed + x;
        spikes = z;
    }
}

internal sealed class NorseLsnnKernel(int size, NeuronValues initialV, NeuronValues initialB, params NeuronValues[] parameters)
    : VectorKernel<NorseLsnnRule>(size, default, parameters)
{
    public override void Initialize(float[][] state, int firstInstance, int instanceCount)
    {
        Norse.Fill(state[0], initialV, Size, firstInstance, instanceCount);
        state[1].AsSpan(firstInstance * Size, instanceCount * Size).Clear();
        Norse.Fill(state[2], initialB, Size, firstInstance, instanceCount);
    }
}
