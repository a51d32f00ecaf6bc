using System.Numerics;
using System.Runtime.CompilerServices;

namespace Snn.Server.Models;

/// <summary>Which NIR neuron node a <see cref="NirGenericModel"/> discretises: the three switches of its ODE.</summary>
/// <param name="Node">The NIR node name (I, LI, IF, LIF, CubaLI, CubaLIF).</param>
/// <param name="Leaky">tau dv/dt = (v_leak - v) + r*in; otherwise dv/dt = r*in.</param>
/// <param name="Synaptic">A current state: tau_syn dI/dt = -I + w_in*x, and in = I (Cuba*); otherwise in = x.</param>
/// <param name="Spiking">Spike when v &gt; v_threshold and set v to v_reset; otherwise the output is v.</param>
internal readonly record struct NirNeuron(string Node, bool Leaky, bool Synaptic, bool Spiking);

/// <summary>
/// <c>nir.I</c>, <c>nir.LI</c>, <c>nir.IF</c>, <c>nir.LIF</c>, <c>nir.CubaLI</c>, <c>nir.CubaLIF</c>: NIR's
/// continuous-time neuron nodes under the generic exact-exponential discretisation (docs/nir.md,
/// "Generic discretisation"), over one step of the network's dt with the input held over the step.
/// Parameters are NIR's, in seconds; one class for all six, switched by <see cref="NirNeuron"/>.
/// </summary>
public sealed class NirGenericModel : NeuronModel
{
    private readonly NirNeuron _neuron;

    private NirGenericModel(NirNeuron neuron)
    {
        _neuron = neuron;
        Parameters = Catalogue(neuron);
        StateVariables = neuron.Synaptic ? ["v", "I"] : ["v"];
    }

    /// <summary>The six models, in NIR's order of complexity.</summary>
    public static IReadOnlyList<NeuronModel> All { get; } =
    [
        new NirGenericModel(new("I", Leaky: false, Synaptic: false, Spiking: false)),
        new NirGenericModel(new("LI", Leaky: true, Synaptic: false, Spiking: false)),
        new NirGenericModel(new("IF", Leaky: false, Synaptic: false, Spiking: true)),
        new NirGenericModel(new("LIF", Leaky: true, Synaptic: false, Spiking: true)),
        new NirGenericModel(new("CubaLI", Leaky: true, Synaptic: true, Spiking: false)),
        new NirGenericModel(new("CubaLIF", Leaky: true, Synaptic: true, Spiking: true)),
    ];

    public override string Name => "nir." + _neuron.Node;

    public override string LibraryClass => "nir.ir.neuron." + _neuron.Node;

    public override string Description
    {
        get
        {
            var n = _neuron;
            string current = n.Synaptic ? "I = a_syn*I + (w_in*(1-a_syn))*x; " : "";
            string input = n.Synaptic ? "I" : "x";
            string voltage = n.Leaky
                ? $"v = v_leak + a*(v - v_leak) + (r*(1-a))*{input}, a = exp(-dt/{(n.Synaptic ? "tau_mem" : "tau")}); "
                : $"v = v + (r*dt)*{input}; ";
            string output = n.Spiking
                ? "spike 1 when v > v_threshold, then v = v_reset."
                : "no spikes: the output is v.";
            string start = n.Leaky ? " Initial v = v_leak" : " Initial v = 0";
            return "Exact-exponential step of NIR's ODE, input held over dt (docs/nir.md): " + current + voltage + output
                + start + (n.Synaptic ? ", I = 0." : ".");
        }
    }

    public override IReadOnlyList<ParameterDescriptor> Parameters { get; }

    public override IReadOnlyList<string> StateVariables { get; }

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        var n = _neuron;
        var r = new ParameterReader(this, parameters, size);
        var resistance = Required(r, "r", NumberRange.Any);
        var lanes = new List<NeuronValues>(7);
        NeuronValues initialV = NeuronValues.Of(0f);
        if (n.Leaky)
        {
            string tauName = n.Synaptic ? "tau_mem" : "tau";
            var tau = Required(r, tauName, NumberRange.Positive);
            var vLeak = Required(r, "v_leak", NumberRange.Any);
            var gain = NeuronValues.Zip(resistance, tau, size, (rr, t) => (float)(rr * OneMinusDecay(networkDt, t)));
            r.RequireFinite(gain, "r", $"r*(1 - exp(-dt/{tauName}))");
            lanes.Add(gain);
            lanes.Add(tau.Map(t => Decay(networkDt, t)));
            lanes.Add(vLeak);
            initialV = vLeak;
        }
        else
        {
            var gain = resistance.Map(rr => (float)(rr * networkDt));
            r.RequireFinite(gain, "r", "r*dt");
            lanes.Add(gain);
        }

        if (n.Synaptic)
        {
            var tauSyn = Required(r, "tau_syn", NumberRange.Positive);
            var wIn = r.Values("w_in", 1f, NumberRange.Any);
            lanes.Add(tauSyn.Map(t => Decay(networkDt, t)));
            lanes.Add(NeuronValues.Zip(wIn, tauSyn, size, (w, t) => (float)(w * OneMinusDecay(networkDt, t))));
        }

        if (n.Spiking)
        {
            lanes.Add(Required(r, "v_threshold", NumberRange.Any));
            lanes.Add(r.Values("v_reset", 0f, NumberRange.Any));
        }

        return new NirGenericKernel(size, new NirGenericRule(n.Leaky, n.Synaptic, n.Spiking), initialV, [.. lanes]);
    }

    /// <summary>exp(-dt/tau) in double from the float32 tau, rounded to float32 once.</summary>
    internal static float Decay(double dt, float tau) => (float)Math.Exp(-(dt / tau));

    /// <summary>1 - exp(-dt/tau) in double (not rounded: the caller multiplies by r or w_in first).</summary>
    internal static double OneMinusDecay(double dt, float tau) => 1.0 - Math.Exp(-(dt / tau));

    private NeuronValues Required(ParameterReader r, string name, NumberRange range) =>
        r.OptionalValues(name, range)
        ?? throw r.Error(name, $"model '{Name}' requires parameter '{name}' ({Explain(name)})");

    private string Explain(string name)
    {
        var d = Parameters.First(p => p.Name == name);
        return $"{d.Description} Allowed: {d.Range}";
    }

    private static ParameterDescriptor[] Catalogue(NirNeuron n)
    {
        var list = new List<ParameterDescriptor>();
        if (n.Synaptic)
        {
            list.Add(Describe.Number("tau_syn", "required", NumberRange.Positive, true, "Synaptic time constant in seconds."));
            list.Add(Describe.Number("tau_mem", "required", NumberRange.Positive, true, "Membrane time constant in seconds."));
        }
        else if (n.Leaky)
        {
            list.Add(Describe.Number("tau", "required", NumberRange.Positive, true, "Membrane time constant in seconds."));
        }

        list.Add(Describe.Number("r", "required", NumberRange.Any, true, "Resistance: the gain of the input (the current I for Cuba*) into v."));
        if (n.Leaky)
        {
            list.Add(Describe.Number("v_leak", "required", NumberRange.Any, true, "Leak (resting) potential; the initial v."));
        }

        if (n.Spiking)
        {
            list.Add(Describe.Number("v_threshold", "required", NumberRange.Any, true, "Threshold: spike when v > v_threshold (strict)."));
            list.Add(Describe.Number("v_reset", "0.0", NumberRange.Any, true, "Value v is set to after a spike."));
        }

        if (n.Synaptic)
        {
            list.Add(Describe.Number("w_in", "1.0", NumberRange.Any, true, "Input weight of the current: tau_syn dI/dt = -I + w_in*x."));
        }

        return [.. list];
    }
}

/// <summary>
/// One generic NIR step (docs/nir.md). Lanes: 0 the input gain (r*(1-a), or r*dt when not leaky);
/// leaky: 1 a = exp(-dt/tau), 2 v_leak; synaptic: 3 a_syn = exp(-dt/tau_syn), 4 w_in*(1-a_syn); spiking:
/// then v_threshold, v_reset. States: v, and I when synaptic.
/// </summary>
internal readonly struct NirGenericRule(bool leaky, bool synaptic, bool spiking) : IVectorRule
{
    public bool Leaky => leaky;

    public bool Synaptic => synaptic;

    public bool Spiking => spiking;

    public int StateCount => synaptic ? 2 : 1;

    public bool UsesRecurrent => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(in ParamLanes p, ref Vector<float> v, ref Vector<float> i, ref Vector<float> unused2, ref Vector<float> unused3,
        Vector<float> x, Vector<float> rec, out Vector<float> spikes)
    {
        // Current first (exact for I with x held); v then sees this step's current, held.
        var input = x;
        if (synaptic)
        {
            i = p[3] * i + p[4] * x;
            input = i;
        }

        // fl(fl(v_leak + fl(a*fl(v - v_leak))) + fl(gain*input)), or fl(v + fl(gain*input)).
        v = leaky ? (p[2] + p[1] * (v - p[2])) + p[0] * input : v + p[0] * input;

        if (spiking)
        {
            int t = leaky ? (synaptic ? 5 : 3) : 1;
            var fire = Vector.GreaterThan(v, p[t]);
            spikes = Vector.ConditionalSelect(fire, Vector<float>.One, Vector<float>.Zero);
            v = Vector.ConditionalSelect(fire, p[t + 1], v);
        }
        else
        {
            spikes = v;
        }
    }
}

/// <summary>Kernel of the generic NIR models. Initial state: v = v_leak (leaky) or 0; I = 0.</summary>
internal sealed class NirGenericKernel(int size, NirGenericRule rule, NeuronValues initialV, params NeuronValues[] parameters)
    : VectorKernel<NirGenericRule>(size, rule, parameters)
{
    public override void Initialize(float[][] state, int firstInstance, int instanceCount)
    {
        Norse.Fill(state[0], initialV, Size, firstInstance, instanceCount);
        for (int s = 1; s < state.Length; s++)
        {
            state[s].AsSpan(firstInstance * Size, instanceCount * Size).Clear();
        }
    }
}
