using ILGPU;

namespace Snn.Server.Backends.Gpu;

/// <summary>
/// snntorch.Leaky without inhibition: SnnTorchLeakyRule (Models/SnnTorchLeaky.cs) on one neuron.
/// Lanes: 0 beta (clamped), 1 threshold, 2 graded_spikes_factor.
/// </summary>
internal readonly struct LeakyDeviceRule(int reset, int delay) : IDeviceRule
{
    public const int Subtract = 0;
    public const int Zero = 1;

    public void Step(ArrayView<float> p, int n, int size, ref float mem, ref float unused, float x, out float spike)
    {
        float beta = p[n];
        float thr = p[size + n];
        float graded = p[2 * size + n];
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

        spike = (mem - thr > 0f ? 1f : 0f) * graded;
        if (delay == 0)
        {
            float doReset = spike / graded - r;
            if (reset == Subtract)
            {
                mem = mem - doReset * thr;
            }
            else if (reset == Zero)
            {
                mem = mem - doReset * mem;
            }
        }
    }
}

/// <summary>
/// sinabs.LIF and sinabs.IAF: SinabsLifRule (Models/SinabsLif.cs) on one neuron. Lanes: 0 alpha_mem,
/// 1 (1 - alpha_mem), 2 alpha_syn, 3 spike_threshold, 4 subtract_value or reset_value, 5 min_v_mem.
/// </summary>
internal readonly struct SinabsLifDeviceRule(int synaptic, int normInput, int multiSpike, int resetToValue, int clip) : IDeviceRule
{
    public void Step(ArrayView<float> p, int n, int size, ref float v, ref float i, float x, out float spike)
    {
        i = synaptic != 0 ? p[2 * size + n] * (i + x) : x;
        float syn = normInput != 0 ? p[size + n] * i : i;
        v = p[n] * v + syn;

        float thr = p[3 * size + n];
        spike = multiSpike != 0
            ? (v > 0f ? Truncate(v / thr) : 0f)
            : (v - thr >= 0f ? 1f : 0f);

        float amount = p[4 * size + n];
        v = resetToValue != 0 ? (spike == 0f ? v : amount) : v - spike * amount;

        if (clip != 0)
        {
            float min = p[5 * size + n];
            float d = v - min;
            v = (d > 0f ? d : 0f) + min;
        }
    }

    /// <summary>Truncation toward zero of a positive float: beyond 2^23 every float is already whole.</summary>
    private static float Truncate(float q) => q < 8388608f ? (float)(int)q : q;
}

/// <summary>
/// norse.LIF: NorseLifRule (Models/NorseLif.cs) on one neuron. Lanes: 0 dt*tau_mem_inv,
/// 1 -dt*tau_syn_inv, 2 v_leak, 3 v_th, 4 v_reset.
/// </summary>
internal readonly struct NorseLifDeviceRule : IDeviceRule
{
    public void Step(ArrayView<float> p, int n, int size, ref float v, ref float i, float x, out float spike)
    {
        float iJump = i + x;
        float vDecayed = v + p[n] * ((p[2 * size + n] - v) + iJump);
        i = iJump + p[size + n] * iJump;
        float z = vDecayed - p[3 * size + n] > 0f ? 1f : 0f;
        v = (1f - z) * vDecayed + z * p[4 * size + n];
        spike = z;
    }
}

/// <summary>
/// snntorch.Synaptic without inhibition: SnnTorchSynapticRule (Models/SnnTorchSynaptic.cs) on one
/// neuron. Lanes: 0 alpha, 1 beta (both clamped), 2 threshold. States: syn, mem.
/// </summary>
internal readonly struct SynapticDeviceRule(int reset, int delay) : IDeviceRule
{
    public void Step(ArrayView<float> p, int n, int size, ref float syn, ref float mem, float x, out float spike)
    {
        float thr = p[2 * size + n];
        float r = mem - thr > 0f ? 1f : 0f;
        syn = p[n] * syn + x;
        mem = p[size + n] * mem + syn;
        if (reset == LeakyDeviceRule.Subtract)
        {
            mem = mem - r * thr;
        }
        else if (reset == LeakyDeviceRule.Zero)
        {
            mem = mem - mem * r;
        }

        spike = mem - thr > 0f ? 1f : 0f;
        if (delay == 0)
        {
            float doReset = spike - r;
            if (reset == LeakyDeviceRule.Subtract)
            {
                mem = mem - doReset * thr;
            }
            else if (reset == LeakyDeviceRule.Zero)
            {
                mem = mem - doReset * mem;
            }
        }
    }
}

/// <summary>norse.IAF: NorseIafRule (Models/NorseIaf.cs) on one neuron. Lanes: 0 v_th, 1 v_reset. State: v.</summary>
internal readonly struct NorseIafDeviceRule : IDeviceRule
{
    public void Step(ArrayView<float> p, int n, int size, ref float v, ref float unused, float x, out float spike)
    {
        v = v + x;
        float z = v - p[n] > 0f ? 1f : 0f;
        v = (1f - z) * v + z * p[size + n];
        spike = z;
    }
}
