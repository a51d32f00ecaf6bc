using System.Numerics;
using System.Runtime.CompilerServices;

namespace Snn.Server.Models;

/// <summary>
/// <c>norse.LIBox</c>: norse LIBoxCell, <c>li_box_feed_forward_step</c>
/// (functional/leaky_integrator_box.py): a leaky integrator without a current that never spikes.
/// Its output is v itself: the kernel writes v where spiking models write spikes, so projections
/// from it carry v and Run reports v as a graded value. norse's NIR importer builds it for
/// <c>nir.LI</c> and as the synapse of <c>nir.CubaLIF</c>.
/// </summary>
public sealed class NorseLiBoxModel : NeuronModel
{
    public override string Name => "norse.LIBox";

    public override string LibraryClass => "norse.torch.LIBoxCell";

    public override string Description =>
        "Leaky integrator, no spikes: v += dt*tau_mem_inv*((v_leak - v) + x). The output is v (a graded value " +
        "for every neuron whose v is not 0), delivered to projections and reported by Run. Initial v = v_leak.";

    public override IReadOnlyList<ParameterDescriptor> Parameters { get; } =
        [Norse.TauMemInv, Norse.VLeak, Norse.Dt(used: true)];

    public override IReadOnlyList<string> StateVariables { get; } = ["v"];

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        var r = new ParameterReader(this, parameters, size);
        var tauMemInv = r.Values("tau_mem_inv", 100f, NumberRange.Positive);
        var vLeak = r.Values("v_leak", 0f, NumberRange.Any);
        float dt = Norse.ReadDt(r, networkDt);
        var cM = Norse.Times(dt, tauMemInv);
        r.RequireFinite(cM, "tau_mem_inv", "dt*tau_mem_inv");
        return new NorseLiBoxKernel(size, vLeak, cM, vLeak);
    }
}

/// <summary>Lanes: 0 dt*tau_mem_inv, 1 v_leak. State: v. Output: v.</summary>
internal readonly struct NorseLiBoxRule : IVectorRule
{
    public int StateCount => 1;

    public bool UsesRecurrent => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(in ParamLanes p, ref Vector<float> v, ref Vector<float> unused1, ref Vector<float> unused2, ref Vector<float> unused3,
        Vector<float> x, Vector<float> rec, out Vector<float> spikes)
    {
        // dv = dt*tau_mem_inv*((v_leak - v) + input); the cell returns the new v.
        v = v + p[0] * ((p[1] - v) + x);
        spikes = v;
    }
}

internal sealed class NorseLiBoxKernel(int size, NeuronValues initialV, params NeuronValues[] parameters)
    : VectorKernel<NorseLiBoxRule>(size, default, parameters)
{
    public override void Initialize(float[][] state, int firstInstance, int instanceCount) =>
        Norse.Fill(state[0], initialV, Size, firstInstance, instanceCount);
}
