using ILGPU;

namespace Snn.Server.Backends.Gpu;

/// <summary>
/// snntorch.Leaky: SnnTorchLeakyRule (Models/SnnTorchLeaky.cs) on one neuron.
/// Lanes: 0 beta (clamped), 1 threshold, 2 graded_spikes_factor.
/// </summary>
internal readonly struct LeakyDeviceRule(int reset, int delay, int inhibition) : IDeviceRule
{
    public const int Subtract = 0;
    public const int Zero = 1;

    /// <summary>
    /// snntorch's reset of <paramref name="mem"/> by <paramref name="amount"/> (a spike, or the immediate
    /// reset's correction): subtract takes amount × threshold off, zero takes amount × mem off, none keeps it.
    /// </summary>
    public static float Reset(float mem, float amount, float thr, int reset) =>
        reset == Subtract ? mem - amount * thr : reset == Zero ? mem - amount * mem : mem;

    public void Step(DeviceLanes p, int n, ref float mem, ref float unused1, ref float unused2, ref float unused3, float x, float rec, out float spike)
    {
        float beta = p[0, n];
        float thr = p[1, n];
        float graded = p[2, n];
        float r = mem - thr > 0f ? 1f : 0f;
        if (reset == Subtract)
        {
            mem = (beta * mem + x) - r * thr;
        }
        else if (reset == Zero)
        {
            mem = beta * ((1f - r) * mem) + x;
        }
        else
        {
            mem = beta * mem + x;
        }

        if (inhibition != 0)
        {
            spike = r; // the inhibition pass fires and resets (DeviceKernels.Inhibit)
            return;
        }

        spike = (mem - thr > 0f ? 1f : 0f) * graded;
        if (delay == 0)
        {
            float doReset = spike / graded - r;
            mem = LeakyDeviceRule.Reset(mem, doReset, thr, reset);
        }
    }
}

/// <summary>
/// sinabs.LIF and sinabs.IAF: SinabsLifRule (Models/SinabsLif.cs) on one neuron. Lanes: 0 alpha_mem,
/// 1 (1 - alpha_mem), 2 alpha_syn, 3 spike_threshold, 4 subtract_value or reset_value, 5 min_v_mem.
/// </summary>
internal readonly struct SinabsLifDeviceRule(int synaptic, int normInput, int multiSpike, int resetToValue, int clip) : IDeviceRule
{
    /// <summary>Spikes are 0 or 1 (SingleSpike).</summary>
    public bool SingleSpike => multiSpike == 0;

    public void Step(DeviceLanes p, int n, ref float v, ref float i, ref float unused2, ref float unused3, float x, float rec, out float spike)
    {
        i = synaptic != 0 ? p[2, n] * (i + x) : x;
        float syn = normInput != 0 ? p[1, n] * i : i;
        v = p[0, n] * v + syn;

        float thr = p[3, n];
        spike = multiSpike != 0
            ? (v > 0f ? Truncate(v / thr) : 0f)
            : (v - thr >= 0f ? 1f : 0f);

        float amount = p[4, n];
        v = resetToValue != 0 ? (spike == 0f ? v : amount) : v - spike * amount;

        if (clip != 0)
        {
            float min = p[5, n];
            float d = v - min;
            v = (d > 0f ? d : 0f) + min;
        }
    }

    /// <summary>Truncation toward zero of a positive float: beyond 2^23 every float is already whole.</summary>
    internal static float Truncate(float q) => q < 8388608f ? (float)(int)q : q;
}

/// <summary>
/// norse.LIF: NorseLifRule (Models/NorseLif.cs) on one neuron. Lanes: 0 dt*tau_mem_inv,
/// 1 -dt*tau_syn_inv, 2 v_leak, 3 v_th, 4 v_reset.
/// </summary>
internal readonly struct NorseLifDeviceRule : IDeviceRule
{
    public void Step(DeviceLanes p, int n, ref float v, ref float i, ref float unused2, ref float unused3, float x, float rec, out float spike)
    {
        float iJump = i + x;
        float vDecayed = v + p[0, n] * ((p[2, n] - v) + iJump);
        i = iJump + p[1, n] * iJump;
        float z = vDecayed - p[3, n] > 0f ? 1f : 0f;
        v = (1f - z) * vDecayed + z * p[4, n];
        spike = z;
    }
}

/// <summary>
/// snntorch.Synaptic: SnnTorchSynapticRule (Models/SnnTorchSynaptic.cs) on one
/// neuron. Lanes: 0 alpha, 1 beta (both clamped), 2 threshold. States: syn, mem.
/// </summary>
internal readonly struct SynapticDeviceRule(int reset, int delay, int inhibition) : IDeviceRule
{
    public void Step(DeviceLanes p, int n, ref float syn, ref float mem, ref float unused2, ref float unused3, float x, float rec, out float spike)
    {
        float thr = p[2, n];
        float r = mem - thr > 0f ? 1f : 0f;
        syn = p[0, n] * syn + x;
        mem = p[1, n] * mem + syn;
        mem = LeakyDeviceRule.Reset(mem, r, thr, reset);

        if (inhibition != 0)
        {
            spike = r;
            return;
        }

        spike = mem - thr > 0f ? 1f : 0f;
        if (delay == 0)
        {
            float doReset = spike - r;
            mem = LeakyDeviceRule.Reset(mem, doReset, thr, reset);
        }
    }
}

/// <summary>norse.IAF: NorseIafRule (Models/NorseIaf.cs) on one neuron. Lanes: 0 v_th, 1 v_reset. State: v.</summary>
internal readonly struct NorseIafDeviceRule : IDeviceRule
{
    public void Step(DeviceLanes p, int n, ref float v, ref float unused1, ref float unused2, ref float unused3, float x, float rec, out float spike)
    {
        v = v + x;
        float z = v - p[0, n] > 0f ? 1f : 0f;
        v = (1f - z) * v + z * p[1, n];
        spike = z;
    }
}

/// <summary>
/// snntorch.Alpha: SnnTorchAlphaRule (Models/SnnTorchAlpha.cs). Lanes: 0 alpha,
/// 1 beta (clamped), 2 tau_alpha, 3 threshold. States: syn_exc, syn_inh, mem.
/// </summary>
internal readonly struct AlphaDeviceRule(int reset, int inhibition) : IDeviceRule
{
    public void Step(DeviceLanes p, int n, ref float synExc, ref float synInh, ref float mem, ref float unused3,
        float x, float rec, out float spike)
    {
        float thr = p[3, n];
        float r = mem - thr > 0f ? 1f : 0f;
        float synInhPrev = synInh;
        synExc = p[0, n] * synExc + x;
        synInh = p[1, n] * synInh - x;
        mem = p[2, n] * (synExc + synInh);
        if (reset == LeakyDeviceRule.Zero)
        {
            synExc = synExc - synExc * r;
            synInh = synInh - synInh * r;
            mem = mem - mem * r;
        }
        else if (reset == LeakyDeviceRule.Subtract)
        {
            synExc = synExc - thr * r;
            synInh = synInh - synInh * r;
            mem = mem - (-synInhPrev) * r;
        }

        spike = inhibition != 0 ? r : (mem - thr > 0f ? 1f : 0f);
    }
}

/// <summary>
/// snntorch.Lapicque: SnnTorchLapicqueRule (Models/SnnTorchLapicque.cs). Lanes:
/// 0 R, 1 1/(R*C), 2 time_step, 3 decay, 4 threshold. State: mem.
/// </summary>
internal readonly struct LapicqueDeviceRule(int reset, int inhibition) : IDeviceRule
{
    public void Step(DeviceLanes p, int n, ref float mem, ref float unused1, ref float unused2, ref float unused3,
        float x, float rec, out float spike)
    {
        float thr = p[4, n];
        float r = mem - thr > 0f ? 1f : 0f;
        float baseValue = ((x * p[0, n]) * p[1, n]) * p[2, n] + p[3, n] * mem;
        mem = reset == LeakyDeviceRule.Subtract ? baseValue - r * thr
            : reset == LeakyDeviceRule.Zero ? baseValue - r * baseValue
            : baseValue;
        spike = inhibition != 0 ? r : (mem - thr > 0f ? 1f : 0f);
    }
}

/// <summary>
/// snntorch.RLeaky: SnnTorchRLeakyRule (Models/SnnTorchRLeaky.cs). Lanes: 0 beta
/// (clamped), 1 threshold, 2 graded_spikes_factor. States: spk, mem. Takes the recurrent input.
/// </summary>
internal readonly struct RLeakyDeviceRule(int reset, int delay, int inhibition) : IDeviceRule
{
    public void Step(DeviceLanes p, int n, ref float spk, ref float mem, ref float unused2, ref float unused3,
        float x, float rec, out float spike)
    {
        float thr = p[1, n];
        float graded = p[2, n];
        float r = mem - thr > 0f ? 1f : 0f;
        float baseValue = (p[0, n] * mem + x) + rec;
        mem = reset == LeakyDeviceRule.Subtract ? baseValue - r * thr
            : reset == LeakyDeviceRule.Zero ? baseValue - r * baseValue
            : baseValue;
        if (inhibition != 0)
        {
            spike = r; // the inhibition pass fires, resets and stores spk
            return;
        }

        spike = (mem - thr > 0f ? 1f : 0f) * graded;
        spk = spike;
        if (delay == 0)
        {
            float doReset = spike / graded - r;
            mem = LeakyDeviceRule.Reset(mem, doReset, thr, reset);
        }
    }
}

/// <summary>
/// sinabs.ALIF: SinabsAlifRule (Models/SinabsAlif.cs). Lanes: 0 alpha_mem, 1 (1 - alpha_mem),
/// 2 alpha_syn, 3 b0, 4 adapt_scale, 5 alpha_adapt, 6 (1 - alpha_adapt), 7 subtract_value or
/// reset_value, 8 min_v_mem. States: v_mem, i_syn, b, spike_threshold.
/// </summary>
internal readonly struct SinabsAlifDeviceRule(int synaptic, int normInput, int multiSpike, int resetToValue, int subtractAdaptive, int clip)
    : IDeviceRule
{
    /// <summary>Spikes are 0 or 1 (SingleSpike).</summary>
    public bool SingleSpike => multiSpike == 0;

    public void Step(DeviceLanes p, int n, ref float v, ref float i, ref float b, ref float threshold,
        float x, float rec, out float spike)
    {
        i = synaptic != 0 ? p[2, n] * (i + x) : x;
        if (normInput != 0)
        {
            i = p[1, n] * i;
        }

        v = p[0, n] * v + i;
        float thr = p[3, n] + p[4, n] * b;
        spike = multiSpike != 0
            ? (v > 0f ? SinabsLifDeviceRule.Truncate(v / thr) : 0f)
            : (v - thr >= 0f ? 1f : 0f);
        float amount = p[7, n];
        v = resetToValue != 0 ? (spike == 0f ? v : amount) : v - spike * (subtractAdaptive != 0 ? thr : amount);
        b = p[5, n] * b + p[6, n] * spike;
        threshold = p[3, n] + p[4, n] * b;
        if (clip != 0)
        {
            float min = p[8, n];
            float d = v - min;
            v = (d > 0f ? d : 0f) + min;
        }
    }
}

/// <summary>
/// norse.LSNN: NorseLsnnRule (Models/NorseLsnn.cs). Lanes: 0 dt*tau_mem_inv, 1 -dt*tau_syn_inv,
/// 2 dt*tau_adapt_inv, 3 v_leak, 4 v_th, 5 v_reset, 6 beta. States: v, i, b.
/// </summary>
internal readonly struct NorseLsnnDeviceRule : IDeviceRule
{
    public void Step(DeviceLanes p, int n, ref float v, ref float i, ref float b, ref float unused3,
        float x, float rec, out float spike)
    {
        float vDecayed = v + p[0, n] * ((p[3, n] - v) + i);
        float iDecayed = i + p[1, n] * i;
        float bDecayed = b + p[2, n] * (p[4, n] - b);
        float z = vDecayed - bDecayed > 0f ? 1f : 0f;
        v = (1f - z) * vDecayed + z * p[5, n];
        b = bDecayed + z * p[6, n];
        i = iDecayed + x;
        spike = z;
    }
}

/// <summary>
/// norse.LIFBox: NorseLifBoxRule (Models/NorseLifBox.cs). Lanes: 0 dt*tau_mem_inv, 1 v_leak, 2 v_th,
/// 3 v_reset. State: v.
/// </summary>
internal readonly struct NorseLifBoxDeviceRule(int subtract) : IDeviceRule
{
    public void Step(DeviceLanes p, int n, ref float v, ref float unused1, ref float unused2, ref float unused3, float x, float rec, out float spike)
    {
        float vDecayed = v + p[0, n] * ((x + p[1, n]) - v);
        float vTh = p[2, n];
        float z = vDecayed - vTh > 0f ? 1f : 0f;
        v = (1f - z) * vDecayed + z * (subtract != 0 ? vDecayed - vTh : p[3, n]);
        spike = z;
    }
}

/// <summary>norse.LIBox: NorseLiBoxRule (Models/NorseLiBox.cs). Lanes: 0 dt*tau_mem_inv, 1 v_leak. State: v. Output: v.</summary>
internal readonly struct NorseLiBoxDeviceRule : IDeviceRule
{
    public void Step(DeviceLanes p, int n, ref float v, ref float unused1, ref float unused2, ref float unused3, float x, float rec, out float spike)
    {
        v = v + p[0, n] * ((p[1, n] - v) + x);
        spike = v;
    }
}

/// <summary>
/// sinabs.ExpLeak: SinabsExpLeakRule (Models/SinabsExpLeak.cs). Lanes: 0 alpha_mem, 1 (1 - alpha_mem),
/// 2 min_v_mem. State: v_mem. Output: v_mem before the clip.
/// </summary>
internal readonly struct SinabsExpLeakDeviceRule(int normInput, int clip) : IDeviceRule
{
    public void Step(DeviceLanes p, int n, ref float v, ref float unused1, ref float unused2, ref float unused3, float x, float rec, out float spike)
    {
        float syn = normInput != 0 ? p[1, n] * x : x;
        v = p[0, n] * v + syn;
        spike = v;
        if (clip != 0)
        {
            float min = p[2, n];
            float d = v - min;
            v = (d > 0f ? d : 0f) + min;
        }
    }
}

/// <summary>
/// snntorch.RSynaptic: SnnTorchRSynapticRule (Models/SnnTorchRSynaptic.cs). Lanes:
/// 0 alpha, 1 beta (both clamped), 2 threshold. States: spk, syn, mem. Takes the recurrent input.
/// </summary>
internal readonly struct RSynapticDeviceRule(int reset, int inhibition) : IDeviceRule
{
    public void Step(DeviceLanes p, int n, ref float spk, ref float syn, ref float mem, ref float unused3,
        float x, float rec, out float spike)
    {
        float thr = p[2, n];
        float r = mem - thr > 0f ? 1f : 0f;
        syn = (p[0, n] * syn + x) + rec;
        mem = p[1, n] * mem + syn;
        mem = LeakyDeviceRule.Reset(mem, r, thr, reset);

        if (inhibition != 0)
        {
            spike = r; // the inhibition pass fires and stores spk
            return;
        }

        spike = mem - thr > 0f ? 1f : 0f;
        spk = spike;
    }
}

/// <summary>
/// The generic NIR models (nir.I, LI, IF, LIF, CubaLI, CubaLIF): NirGenericRule (Models/NirGeneric.cs),
/// whose exponentials are taken on the host into the lanes. Lanes: 0 the input gain; leaky: 1 a, 2 v_leak;
/// synaptic: 3 a_syn, 4 w_in*(1-a_syn); spiking: then v_threshold, v_reset. States: v, and I when synaptic.
/// </summary>
internal readonly struct NirGenericDeviceRule(int leaky, int synaptic, int spiking) : IDeviceRule
{
    /// <summary>Spikes are 0 or 1 (the spiking models; the others emit v).</summary>
    public bool Binary => spiking != 0;

    public void Step(DeviceLanes p, int n, ref float v, ref float i, ref float unused2, ref float unused3, float x, float rec, out float spike)
    {
        float input = x;
        if (synaptic != 0)
        {
            i = p[3, n] * i + p[4, n] * x;
            input = i;
        }

        v = leaky != 0 ? (p[2, n] + p[1, n] * (v - p[2, n])) + p[0, n] * input : v + p[0, n] * input;
        if (spiking != 0)
        {
            int t = leaky != 0 ? (synaptic != 0 ? 5 : 3) : 1;
            bool fire = v > p[t, n];
            spike = fire ? 1f : 0f;
            v = fire ? p[t + 1, n] : v;
        }
        else
        {
            spike = v;
        }
    }
}

/// <summary>
/// norse.LIFAdEx: NorseLifAdExKernel (Models/NorseLifAdEx.cs) on one neuron. Lanes: 0 cM, 1 ncS, 2 cA,
/// 3 v_leak, 4 v_th, 5 v_reset, 6 delta_T, 7 adaptation_current, 8 adaptation_spike. States: v, i, a.
/// Its exponential is the accelerator's: the CPU's on ILGPU's CPU accelerator, the device's on a GPU,
/// where it may differ from the CPU in the last bits (the model's tolerance, as against norse).
/// </summary>
internal readonly struct NorseLifAdExDeviceRule : IDeviceRule
{
    public void Step(DeviceLanes p, int n, ref float v, ref float i, ref float a, ref float unused3, float x, float rec, out float spike)
    {
        float vOld = v;
        float iJump = i + x;
        float dvExp = p[6, n] * MathF.Exp((vOld - p[4, n]) / p[6, n]);
        float vDecayed = vOld + p[0, n] * ((((p[3, n] - vOld) + dvExp) + iJump) - a);
        i = iJump + p[1, n] * iJump;
        float aDecayed = a + p[2, n] * (p[7, n] * (vOld - p[3, n]) - a); // uses the old v
        float z = vDecayed - p[4, n] > 0f ? 1f : 0f;
        v = (1f - z) * vDecayed + z * p[5, n];
        a = aDecayed + z * p[8, n];
        spike = z;
    }
}

/// <summary>input and passthrough: the spikes are the summed input (no state, no parameters).</summary>
internal readonly struct StatelessDeviceRule : IDeviceRule
{
    public void Step(DeviceLanes p, int n, ref float unused0, ref float unused1, ref float unused2, ref float unused3, float x, float rec, out float spike) =>
        spike = x;
}
