using System.Numerics;
using System.Runtime.CompilerServices;

namespace Snn.Server.Models;

/// <summary>Parameters and pieces shared by the norse cells (SEMANTICS.md §3).</summary>
internal static class Norse
{
    /// <summary>Surrogate methods whose forward is the strict Heaviside <c>x &gt; 0</c>.</summary>
    public static readonly string[] Methods = ["super", "tanh", "triangle", "circ", "heavi_erfc", "heaviside"];

    public static ParameterDescriptor TauSynInv => Describe.Number("tau_syn_inv", "200.0", NumberRange.Positive, true, "Inverse synaptic time constant (1/s).");

    public static ParameterDescriptor TauMemInv => Describe.Number("tau_mem_inv", "100.0", NumberRange.Positive, true, "Inverse membrane time constant (1/s).");

    public static ParameterDescriptor VLeak => Describe.Number("v_leak", "0.0", NumberRange.Any, true, "Leak (resting) potential; the initial v.");

    public static ParameterDescriptor VTh => Describe.Number("v_th", "1.0", NumberRange.Any, true, "Threshold: spike when v - v_th > 0.");

    public static ParameterDescriptor VReset => Describe.Number("v_reset", "0.0", NumberRange.Any, true, "Value v is set to after a spike.");

    public static ParameterDescriptor Method => Describe.Choice("method", "super", Methods,
        "Surrogate gradient method; backward only, the forward is x > 0 for all of them.");

    public static ParameterDescriptor Alpha => Describe.Number("alpha", "100.0", NumberRange.Any, false,
        "Surrogate gradient sharpness; backward only, accepted and ignored.");

    public static ParameterDescriptor Dt(bool used) => Describe.Number("dt", "network dt", NumberRange.Positive, false,
        used ? "Integration time step in seconds (rounded to float32)." : "Accepted for symmetry with the cell; the IAF update does not use it.");

    /// <summary>
    /// The leaky-integrator core that norse LIF, LSNN and LIFAdEx share: voltages, dt, and the
    /// derived c_m = dt*tau_mem_inv and nc_s = -dt*tau_syn_inv (checked finite).
    /// </summary>
    public static LifCore ReadLifCore(ParameterReader r, double networkDt)
    {
        var tauSynInv = r.Values("tau_syn_inv", 200f, NumberRange.Positive);
        var tauMemInv = r.Values("tau_mem_inv", 100f, NumberRange.Positive);
        var vLeak = r.Values("v_leak", 0f, NumberRange.Any);
        var vTh = r.Values("v_th", 1f, NumberRange.Any);
        var vReset = r.Values("v_reset", 0f, NumberRange.Any);
        float dt = ReadCommon(r, networkDt);
        var cM = Times(dt, tauMemInv);
        var ncS = Times(-dt, tauSynInv);
        r.RequireFinite(cM, "tau_mem_inv", "dt*tau_mem_inv");
        r.RequireFinite(ncS, "tau_syn_inv", "-dt*tau_syn_inv");
        return new LifCore(dt, vLeak, vTh, vReset, cM, ncS);
    }

    /// <summary>dt times a rate parameter (an inverse time constant), checked finite.</summary>
    public static NeuronValues Rate(ParameterReader r, float dt, string parameter, float defaultValue)
    {
        var c = Times(dt, r.Values(parameter, defaultValue, NumberRange.Positive));
        r.RequireFinite(c, parameter, "dt*" + parameter);
        return c;
    }

    /// <summary>Reads the surrogate parameters (forward-irrelevant) and <c>dt</c> as float32.</summary>
    public static float ReadCommon(ParameterReader r, double networkDt)
    {
        r.Choice("method", "super");
        r.Scalar("alpha", 100f, NumberRange.Any);
        return ReadDt(r, networkDt);
    }

    /// <summary><c>dt</c> as float32: the population's own, else the network's.</summary>
    public static float ReadDt(ParameterReader r, double networkDt)
    {
        if (r.Has("dt"))
        {
            return r.Scalar("dt", 0f, NumberRange.Positive);
        }

        float dt = (float)networkDt;
        if (!(dt > 0f) || !float.IsFinite(dt))
        {
            throw r.Error("dt", $"the network dt {networkDt} is not usable as parameter 'dt' (> 0); set 'dt' on the population");
        }

        return dt;
    }

    /// <summary><c>fl32(dt * tau_inv)</c>: the Python float dt meets a float32 tensor.</summary>
    public static NeuronValues Times(float dt, NeuronValues tauInv) => tauInv.Map(t => dt * t);

    /// <summary>Heaviside forward of every non-stochastic norse method: <c>x &gt; 0</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> H(Vector<float> x) =>
        Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), Vector<float>.One, Vector<float>.Zero);

    /// <summary>Writes <paramref name="value"/> (per neuron) into instances [first, first+count).</summary>
    public static void Fill(float[] state, NeuronValues value, int size, int first, int count)
    {
        for (int inst = first; inst < first + count; inst++)
        {
            var row = state.AsSpan(inst * size, size);
            if (value.IsScalar)
            {
                row.Fill(value.Scalar);
            }
            else
            {
                value.PerNeuron.AsSpan().CopyTo(row);
            }
        }
    }
}

/// <summary>norse's shared LIF parameters: dt, v_leak, v_th, v_reset, c_m = dt*tau_mem_inv, nc_s = -dt*tau_syn_inv.</summary>
internal readonly record struct LifCore(
    float Dt, NeuronValues VLeak, NeuronValues VTh, NeuronValues VReset, NeuronValues CM, NeuronValues NcS);
