using System.Numerics;
using System.Runtime.CompilerServices;

namespace Snn.Server.Models;

/// <summary><c>norse.LIF</c>: norse LIFCell, <c>lif_feed_forward_step</c> (SEMANTICS.md §3.3).</summary>
public sealed class NorseLifModel : NeuronModel
{
    public override string Name => "norse.LIF";

    public override string LibraryClass => "norse.torch.LIFCell";

    public override string Description =>
        "Explicit Euler: i += x; v += dt*tau_mem_inv*((v_leak - v) + i); i decays after use; spike when v - v_th > 0; " +
        "a spiking neuron is set to v_reset. Initial v = v_leak, i = 0.";

    public override IReadOnlyList<ParameterDescriptor> Parameters { get; } =
        [Norse.TauSynInv, Norse.TauMemInv, Norse.VLeak, Norse.VTh, Norse.VReset, Norse.Method, Norse.Alpha, Norse.Dt(used: true)];

    public override IReadOnlyList<string> StateVariables { get; } = ["v", "i"];

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        var r = new ParameterReader(this, parameters, size);
        var l = Norse.ReadLifCore(r, networkDt);
        return new NorseLifKernel(size, l.VLeak, l.CM, l.NcS, l.VLeak, l.VTh, l.VReset);
    }
}

/// <summary>Lanes: 0 dt*tau_mem_inv, 1 -dt*tau_syn_inv, 2 v_leak, 3 v_th, 4 v_reset. States: v, i.</summary>
internal readonly struct NorseLifRule : IVectorRule
{
    public int StateCount => 2;

    public bool UsesRecurrent => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(in ParamLanes p, ref Vector<float> v, ref Vector<float> i, ref Vector<float> unused2, ref Vector<float> unused3,
        Vector<float> x, Vector<float> rec, out Vector<float> spikes)
    {
        // Input jump first; the voltage sees this step's current.
        var iJump = i + x;
        var vDecayed = v + p[0] * ((p[2] - v) + iJump);
        i = iJump + p[1] * iJump;

        // Fire and reset to v_reset.
        var z = Norse.H(vDecayed - p[3]);
        v = (Vector<float>.One - z) * vDecayed + z * p[4];
        spikes = z;
    }
}

internal sealed class NorseLifKernel(int size, NeuronValues initialV, params NeuronValues[] parameters)
    : VectorKernel<NorseLifRule>(size, default, parameters)
{
    public override void Initialize(float[][] state, int firstInstance, int instanceCount)
    {
        Norse.Fill(state[0], initialV, Size, firstInstance, instanceCount);
        state[1].AsSpan(firstInstance * Size, instanceCount * Size).Clear();
    }
}
