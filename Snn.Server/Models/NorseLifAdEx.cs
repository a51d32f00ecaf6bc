namespace Snn.Server.Models;

/// <summary><c>norse.LIFAdEx</c>: norse LIFAdExCell, <c>lif_adex_feed_forward_step</c> (SEMANTICS.md §3.5).</summary>
public sealed class NorseLifAdExModel : NeuronModel
{
    public override string Name => "norse.LIFAdEx";

    public override string LibraryClass => "norse.torch.LIFAdExCell";

    public override string Description =>
        "Adaptive exponential LIF (explicit Euler): i += x; v += dt*tau_mem_inv*((v_leak - v) + delta_T*exp((v - v_th)/delta_T) + i - a); " +
        "a relaxes towards adaptation_current*(v - v_leak); spike when v - v_th > 0; v set to v_reset, a += adaptation_spike. " +
        "Initial v = v_leak, i = a = 0.";

    public override IReadOnlyList<ParameterDescriptor> Parameters { get; } =
    [
        Describe.Number("adaptation_current", "4", NumberRange.Any, true, "Sub-threshold adaptation coupling."),
        Describe.Number("adaptation_spike", "0.02", NumberRange.Any, true, "Increase of a per spike."),
        Describe.Number("delta_T", "0.5", NumberRange.Positive, true, "Sharpness of the exponential term."),
        Describe.Number("tau_ada_inv", "2.0", NumberRange.Positive, true, "Inverse adaptation time constant (1/s)."),
        Norse.TauSynInv, Norse.TauMemInv, Norse.VLeak, Norse.VTh, Norse.VReset,
        Norse.Method, Norse.Alpha, Norse.Dt(used: true),
    ];

    public override IReadOnlyList<string> StateVariables { get; } = ["v", "i", "a"];

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        var r = new ParameterReader(this, parameters, size);
        var adaptationCurrent = r.Values("adaptation_current", 4f, NumberRange.Any);
        var adaptationSpike = r.Values("adaptation_spike", 0.02f, NumberRange.Any);
        var deltaT = r.Values("delta_T", 0.5f, NumberRange.Positive);
        var l = Norse.ReadLifCore(r, networkDt);
        var cA = Norse.Rate(r, l.Dt, "tau_ada_inv", 2f);
        return new NorseLifAdExKernel(size, l.VLeak,
            [l.CM, l.NcS, cA, l.VLeak, l.VTh, l.VReset, deltaT, adaptationCurrent, adaptationSpike]);
    }
}

/// <summary>
/// Scalar kernel (the update contains exp, which stays scalar). Parameters are expanded per neuron:
/// 0 dt*tau_mem_inv, 1 -dt*tau_syn_inv, 2 dt*tau_ada_inv, 3 v_leak, 4 v_th, 5 v_reset, 6 delta_T,
/// 7 adaptation_current, 8 adaptation_spike. States: v, i, a.
/// </summary>
internal sealed class NorseLifAdExKernel : NeuronKernel
{
    private readonly NeuronValues _initialV;
    private readonly float[][] _p;

    public NorseLifAdExKernel(int size, NeuronValues initialV, NeuronValues[] parameters)
        : base(size)
    {
        _initialV = initialV;
        _p = new float[parameters.Length][];
        for (int j = 0; j < parameters.Length; j++)
        {
            _p[j] = new float[size];
            for (int n = 0; n < size; n++)
            {
                _p[j][n] = parameters[j].At(n);
            }
        }
    }

    /// <summary>Parameter arrays, in the order Step reads them (cM, ncS, cA, v_leak, v_th, v_reset, delta_T, adaptation_current, adaptation_spike).</summary>
    internal int ParameterCount => _p.Length;

    /// <summary>Parameter <paramref name="j"/> of neuron <paramref name="n"/> (a device backend's lanes).</summary>
    internal float Parameter(int j, int n) => _p[j][n];

    public override void Initialize(float[][] state, int firstInstance, int instanceCount)
    {
        Norse.Fill(state[0], _initialV, Size, firstInstance, instanceCount);
        state[1].AsSpan(firstInstance * Size, instanceCount * Size).Clear();
        state[2].AsSpan(firstInstance * Size, instanceCount * Size).Clear();
    }

    public override void Step(float[][] state, float[] x, float[] rec, float[] spikes,
        int firstInstance, int instanceCount, int neuronStart, int neuronEnd)
    {
        int count = neuronEnd - neuronStart;
        for (int inst = firstInstance; inst < firstInstance + instanceCount; inst++)
        {
            int o = inst * Size + neuronStart;
            Step(state[0].AsSpan(o, count), state[1].AsSpan(o, count), state[2].AsSpan(o, count),
                x.AsSpan(o, count), spikes.AsSpan(o, count), neuronStart);
        }
    }

    private void Step(Span<float> v, Span<float> i, Span<float> a, ReadOnlySpan<float> x, Span<float> spikes, int neuron)
    {
        var cM = _p[0].AsSpan(neuron, v.Length);
        var ncS = _p[1].AsSpan(neuron, v.Length);
        var cA = _p[2].AsSpan(neuron, v.Length);
        var vLeak = _p[3].AsSpan(neuron, v.Length);
        var vTh = _p[4].AsSpan(neuron, v.Length);
        var vReset = _p[5].AsSpan(neuron, v.Length);
        var deltaT = _p[6].AsSpan(neuron, v.Length);
        var adaptationCurrent = _p[7].AsSpan(neuron, v.Length);
        var adaptationSpike = _p[8].AsSpan(neuron, v.Length);
        for (int n = 0; n < v.Length; n++)
        {
            float vOld = v[n];
            float iJump = i[n] + x[n];
            float dvExp = deltaT[n] * Exp((vOld - vTh[n]) / deltaT[n]);
            float vDecayed = vOld + cM[n] * ((((vLeak[n] - vOld) + dvExp) + iJump) - a[n]);
            i[n] = iJump + ncS[n] * iJump;
            float aDecayed = a[n] + cA[n] * (adaptationCurrent[n] * (vOld - vLeak[n]) - a[n]); // uses the old v
            float z = vDecayed - vTh[n] > 0f ? 1f : 0f;
            v[n] = (1f - z) * vDecayed + z * vReset[n];
            a[n] = aDecayed + z * adaptationSpike[n];
            spikes[n] = z;
        }
    }

    /// <summary>float32 exp; torch's vectorised expf may differ from this by 1 ulp.</summary>
    private static float Exp(float x) => MathF.Exp(x);
}
