using System.Numerics;
using System.Runtime.CompilerServices;

namespace Snn.Server.Models;

/// <summary>
/// <c>norse.LIFBox</c>: norse LIFBoxCell, <c>lif_box_feed_forward_step</c> (functional/lif_box.py):
/// a LIF without a synaptic current, so the input moves v in the same step. norse's NIR importer
/// builds it for <c>nir.LIF</c> and as the neuron of <c>nir.CubaLIF</c>.
/// </summary>
public sealed class NorseLifBoxModel : NeuronModel
{
    public const string ResetValue = "reset_value";
    public const string ResetSubtract = "reset_subtract";

    public override string Name => "norse.LIFBox";

    public override string LibraryClass => "norse.torch.LIFBoxCell";

    public override string Description =>
        "Explicit Euler without a current: v += dt*tau_mem_inv*((x + v_leak) - v); spike when v - v_th > 0; " +
        "a spiking neuron is set to v_reset (reset_value) or lowered by v_th (reset_subtract). Initial v = v_leak.";

    public override IReadOnlyList<ParameterDescriptor> Parameters { get; } =
    [
        Norse.TauMemInv, Norse.VLeak, Norse.VTh, Norse.VReset, Norse.Method, Norse.Alpha,
        Describe.Choice("reset_method", ResetValue, [ResetValue, ResetSubtract],
            "norse.torch.functional.reset: reset_value sets a spiking neuron to v_reset; reset_subtract subtracts v_th from it."),
        Norse.Dt(used: true),
    ];

    public override IReadOnlyList<string> StateVariables { get; } = ["v"];

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        var r = new ParameterReader(this, parameters, size);
        var tauMemInv = r.Values("tau_mem_inv", 100f, NumberRange.Positive);
        var vLeak = r.Values("v_leak", 0f, NumberRange.Any);
        var vTh = r.Values("v_th", 1f, NumberRange.Any);
        var vReset = r.Values("v_reset", 0f, NumberRange.Any);
        bool subtract = r.Choice("reset_method", ResetValue) == ResetSubtract;
        float dt = Norse.ReadCommon(r, networkDt);
        var cM = Norse.Times(dt, tauMemInv);
        r.RequireFinite(cM, "tau_mem_inv", "dt*tau_mem_inv");
        return new NorseLifBoxKernel(size, new NorseLifBoxRule(subtract), vLeak, cM, vLeak, vTh, vReset);
    }
}

/// <summary>Lanes: 0 dt*tau_mem_inv, 1 v_leak, 2 v_th, 3 v_reset. State: v.</summary>
internal readonly struct NorseLifBoxRule(bool subtract) : IVectorRule
{
    public int StateCount => 1;

    public bool UsesRecurrent => false;

    internal bool Subtract => subtract;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(in ParamLanes p, ref Vector<float> v, ref Vector<float> unused1, ref Vector<float> unused2, ref Vector<float> unused3,
        Vector<float> x, Vector<float> rec, out Vector<float> spikes)
    {
        // dv = dt*tau_mem_inv*(input + v_leak - v), left to right; the input is in v this step.
        var vDecayed = v + p[0] * ((x + p[1]) - v);

        // Fire, then reset_value: (1-z)*v + z*v_reset, or reset_subtract: (1-z)*v + z*(v - v_th).
        var z = Norse.H(vDecayed - p[2]);
        v = (Vector<float>.One - z) * vDecayed + z * (subtract ? vDecayed - p[2] : p[3]);
        spikes = z;
    }
}

internal sealed class NorseLifBoxKernel(int size, NorseLifBoxRule rule, NeuronValues initialV, params NeuronValues[] parameters)
    : VectorKernel<NorseLifBoxRule>(size, rule, parameters)
{
    public override void Initialize(float[][] state, int firstInstance, int instanceCount) =>
        Norse.Fill(state[0], initialV, Size, firstInstance, instanceCount);
}
