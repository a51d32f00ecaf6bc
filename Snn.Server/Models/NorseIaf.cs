using System.Numerics;
using System.Runtime.CompilerServices;

namespace Snn.Server.Models;

/// <summary><c>norse.IAF</c>: norse IAFCell, <c>iaf_feed_forward_step</c> (SEMANTICS.md §3.2).</summary>
public sealed class NorseIafModel : NeuronModel
{
    public override string Name => "norse.IAF";

    public override string LibraryClass => "norse.torch.IAFCell";

    public override string Description =>
        "v = v + x; spike when v - v_th > 0; a spiking neuron is set to v_reset. No leak. Initial v = v_reset.";

    public override IReadOnlyList<ParameterDescriptor> Parameters { get; } =
        [Norse.VTh, Norse.VReset, Norse.Method, Norse.Alpha, Norse.Dt(used: false)];

    public override IReadOnlyList<string> StateVariables { get; } = ["v"];

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        var r = new ParameterReader(this, parameters, size);
        var vTh = r.Values("v_th", 1f, NumberRange.Any);
        var vReset = r.Values("v_reset", 0f, NumberRange.Any);
        Norse.ReadCommon(r, networkDt);
        return new NorseIafKernel(size, vReset, vTh);
    }
}

/// <summary>Lanes: 0 v_th, 1 v_reset. State: v.</summary>
internal readonly struct NorseIafRule : IVectorRule
{
    public int StateCount => 1;

    public bool UsesRecurrent => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(in ParamLanes p, ref Vector<float> v, ref Vector<float> unused1, ref Vector<float> unused2, ref Vector<float> unused3,
        Vector<float> x, Vector<float> rec, out Vector<float> spikes)
    {
        v = v + x;
        var z = Norse.H(v - p[0]);
        v = (Vector<float>.One - z) * v + z * p[1];
        spikes = z;
    }
}

internal sealed class NorseIafKernel(int size, NeuronValues vReset, NeuronValues vTh)
    : VectorKernel<NorseIafRule>(size, default, vTh, vReset)
{
    public override void Initialize(float[][] state, int firstInstance, int instanceCount) =>
        Norse.Fill(state[0], vReset, Size, firstInstance, instanceCount);
}
