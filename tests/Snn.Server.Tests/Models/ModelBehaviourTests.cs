using Snn.Server.Models;

namespace Snn.Server.Tests.Models;

/// <summary>Per-neuron parameters, validation messages, allocation-free stepping, catalogue shape.</summary>
public sealed class ModelBehaviourTests
{
    private static NeuronModel Get(string name)
    {
        Assert.True(ModelCatalog.TryGet(name, out var m), name);
        return m;
    }

    public static TheoryData<string, string, float> PerNeuronOverrides() => new()
    {
        { "sinabs_iaf_default", "spike_threshold", 2f },
        { "sinabs_lif_taumem10", "tau_mem", 3f },
        { "sinabs_alif_default", "spike_threshold", 2f },
        { "snntorch_leaky_subtract", "threshold", 0.5f },
        { "snntorch_synaptic_subtract", "beta", 0.5f },
        { "snntorch_alpha_default", "threshold", 0.5f },
        { "snntorch_rleaky_onetoone", "beta", 0.5f },
        { "norse_lif_default", "v_th", 0.5f },
        { "norse_lsnn_default", "beta", 0.5f },
        { "norse_iaf_default", "v_reset", -0.5f },
        { "norse_lifadex_default", "v_th", 0.8f },
        { "transcribed/norse_lifbox_custom", "v_th", 0.5f },
        { "transcribed/norse_libox_custom", "tau_mem_inv", 50f },
        { "transcribed/sinabs_expleak_norm_clip", "tau_mem", 20f },
        { "transcribed/snntorch_rsynaptic_linear", "alpha", 0.5f },
    };

    /// <summary>A different value for one neuron changes that neuron only.</summary>
    [Theory]
    [MemberData(nameof(PerNeuronOverrides))]
    public void PerNeuronValueChangesOnlyThatNeuron(string caseName, string parameter, float value)
    {
        var c = RefCase.Load(caseName);
        const int Target = 3;
        var scalar = c.ServerParams();
        var model = Get(c.ServerModel);
        float baseValue = scalar.TryGetValue(parameter, out var given)
            ? (float)given.Scalar
            : float.Parse(model.Parameters.Single(p => p.Name == parameter).Default, System.Globalization.CultureInfo.InvariantCulture);
        var values = Enumerable.Repeat(baseValue, c.Neurons).ToArray();
        values[Target] = value;
        var perNeuron = c.ServerParams();
        perNeuron[parameter] = ParamValue.Numbers(values);

        var a = new CaseRunner(c, StepMode.Whole, scalar);
        var b = new CaseRunner(c, StepMode.Whole, perNeuron);
        bool targetDiffers = false;
        for (int t = 0; t < c.Time; t++)
        {
            for (int i = 0; i < a.X.Length; i++)
            {
                a.X[i] = b.X[i] = c.Input[i / c.Neurons][t][i % c.Neurons];
            }

            // Recurrent inputs are left at zero here: the point is the parameter, not the projection.
            a.StepOnce(c.Batch, c.Neurons);
            b.StepOnce(c.Batch, c.Neurons);
            for (int s = 0; s < a.State.Length; s++)
            {
                for (int i = 0; i < a.X.Length; i++)
                {
                    bool same = a.State[s][i].Equals(b.State[s][i]);
                    if (i % c.Neurons == Target)
                    {
                        targetDiffers |= !same;
                    }
                    else
                    {
                        Assert.True(same, $"{parameter}: state {model.StateVariables[s]} of neuron {i % c.Neurons} changed at t={t}");
                    }
                }
            }
        }

        Assert.True(targetDiffers, $"{parameter} = {value} on neuron {Target} changed nothing");
    }

    public static TheoryData<string, string, ParamValue, string> InvalidParameters() => new()
    {
        // model, parameter, value, text the message must contain (besides the parameter name)
        { "sinabs.IAF", "foo", ParamValue.Number(1), "has no parameter" },
        { "sinabs.IAF", "spike_threshold", ParamValue.Number(0), "> 0" },
        { "sinabs.IAF", "spike_threshold", ParamValue.Number(double.NaN), "finite" },
        { "sinabs.IAF", "spike_threshold", ParamValue.Number(1e300), "finite" },
        { "sinabs.IAF", "spike_threshold", ParamValue.Numbers([1, 1, 1]), "3 per-neuron values" },
        { "sinabs.IAF", "spike_threshold", ParamValue.Choice("high"), "must be a number" },
        { "sinabs.IAF", "spike_fn", ParamValue.Choice("TripleSpike"), "\"MultiSpike\", \"SingleSpike\"" },
        { "sinabs.IAF", "reset_fn", ParamValue.Number(1), "must be one of" },
        { "sinabs.IAF", "tau_syn", ParamValue.Number(-1), "-1" },
        { "sinabs.IAF", "reset_value", ParamValue.Number(0.5), "MembraneReset" },
        { "sinabs.IAF", "norm_input", ParamValue.Switch(true), "is fixed at false" },
        { "snntorch.Synaptic", "graded_spikes_factor", ParamValue.Number(2), "is fixed at 1" },
        { "snntorch.Alpha", "graded_spikes_factor", ParamValue.Number(0.5), "is fixed at 1" },
        { "sinabs.LIF", "tau_mem", ParamValue.Number(0), "> 0" },
        { "sinabs.LIF", "norm_input", ParamValue.Number(1), "flag" },
        { "sinabs.ALIF", "tau_adapt", ParamValue.Number(-3), "> 0" },
        { "sinabs.ALIF", "adapt_scale", ParamValue.Numbers([1, 1, 1, 1]), "one value" },
        { "snntorch.Leaky", "reset_mechanism", ParamValue.Choice("foo"), "\"subtract\", \"zero\", \"none\"" },
        { "snntorch.Leaky", "beta", ParamValue.Number(double.PositiveInfinity), "finite" },
        { "snntorch.Leaky", "threshold", ParamValue.Number(-1), "> 0" },
        { "snntorch.Leaky", "graded_spikes_factor", ParamValue.Number(0), "> 0" },
        { "snntorch.Leaky", "spike_grad", ParamValue.Choice("atan"), "has no parameter" },
        { "snntorch.Synaptic", "alpha", ParamValue.Number(double.NaN), "finite" },
        { "snntorch.Alpha", "beta", ParamValue.Number(1), "beta != 1" },
        { "snntorch.Alpha", "alpha", ParamValue.Number(0.5), "greater than beta" },
        { "snntorch.Lapicque", "beta", ParamValue.Number(1.5), "(0, 1)" },
        { "snntorch.Lapicque", "R", ParamValue.Number(0), "> 0" },
        { "snntorch.RLeaky", "V", ParamValue.Number(1), "has no parameter" },
        { "norse.LIF", "tau_mem_inv", ParamValue.Number(0), "> 0" },
        { "norse.LIF", "method", ParamValue.Choice("adjoint"), "\"super\"" },
        { "norse.LIF", "dt", ParamValue.Number(-0.001), "> 0" },
        { "norse.LIF", "v_th", ParamValue.Numbers([1, 2]), "2 per-neuron values" },
        { "norse.LSNN", "tau_adapt_inv", ParamValue.Number(-1), "> 0" },
        { "norse.LIFAdEx", "delta_T", ParamValue.Number(0), "> 0" },
        { "norse.IAF", "v_th", ParamValue.Switch(true), "must be a number" },
        { "norse.LIFBox", "reset_method", ParamValue.Choice("reset_zero"), "\"reset_value\", \"reset_subtract\"" },
        { "norse.LIFBox", "tau_syn_inv", ParamValue.Number(200), "has no parameter" },
        { "norse.LIBox", "v_th", ParamValue.Number(1), "has no parameter" },
        { "norse.LIBox", "method", ParamValue.Choice("super"), "has no parameter" },
        { "norse.LIBox", "tau_mem_inv", ParamValue.Number(-100), "> 0" },
        { "sinabs.ExpLeak", "spike_threshold", ParamValue.Number(1), "has no parameter" },
        { "sinabs.ExpLeak", "tau_mem", ParamValue.Number(0), "> 0" },
        { "snntorch.RSynaptic", "graded_spikes_factor", ParamValue.Number(2), "is fixed at 1" },
        { "snntorch.RSynaptic", "V", ParamValue.Number(1), "has no parameter" },
    };

    private static readonly Dictionary<string, Dictionary<string, ParamValue>> s_required = new()
    {
        ["sinabs.LIF"] = new() { ["tau_mem"] = ParamValue.Number(10) },
        ["sinabs.ALIF"] = new() { ["tau_mem"] = ParamValue.Number(10), ["tau_adapt"] = ParamValue.Number(30) },
        ["snntorch.Leaky"] = new() { ["beta"] = ParamValue.Number(0.9) },
        ["snntorch.RLeaky"] = new() { ["beta"] = ParamValue.Number(0.9) },
        ["snntorch.Synaptic"] = new() { ["alpha"] = ParamValue.Number(0.8), ["beta"] = ParamValue.Number(0.9) },
        ["snntorch.Alpha"] = new() { ["alpha"] = ParamValue.Number(0.9), ["beta"] = ParamValue.Number(0.8) },
        ["snntorch.Lapicque"] = new() { ["beta"] = ParamValue.Number(0.9) },
        ["sinabs.ExpLeak"] = new() { ["tau_mem"] = ParamValue.Number(10) },
        ["snntorch.RSynaptic"] = new() { ["alpha"] = ParamValue.Number(0.8), ["beta"] = ParamValue.Number(0.9) },
    };

    private static Dictionary<string, ParamValue> Minimal(string model) =>
        s_required.TryGetValue(model, out var p) ? new(p) : [];

    [Theory]
    [MemberData(nameof(InvalidParameters))]
    public void InvalidParameterIsNamed(string modelName, string parameter, ParamValue value, string expected)
    {
        var p = Minimal(modelName);
        p[parameter] = value;
        var e = Assert.Throws<ModelParameterException>(() => Get(modelName).Compile(p, 8, 0.001));
        Assert.Equal(parameter, e.Parameter);
        Assert.Contains(parameter, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("sinabs.LIF", "tau_mem")]
    [InlineData("sinabs.ALIF", "tau_adapt")]
    [InlineData("snntorch.Leaky", "beta")]
    [InlineData("snntorch.Synaptic", "alpha")]
    [InlineData("snntorch.Alpha", "beta")]
    public void MissingRequiredParameterIsNamed(string modelName, string parameter)
    {
        var p = Minimal(modelName);
        p.Remove(parameter);
        var e = Assert.Throws<ModelParameterException>(() => Get(modelName).Compile(p, 8, 0.001));
        Assert.Equal(parameter, e.Parameter);
        Assert.Contains("requires", e.Message);
    }

    [Fact]
    public void LapicqueNeedsBetaOrRAndC()
    {
        var model = Get("snntorch.Lapicque");
        var e = Assert.Throws<ModelParameterException>(() => model.Compile(new Dictionary<string, ParamValue> { ["R"] = ParamValue.Number(1) }, 4, 0.001));
        Assert.Equal("C", e.Parameter);
        e = Assert.Throws<ModelParameterException>(() => model.Compile(new Dictionary<string, ParamValue>
        {
            ["beta"] = ParamValue.Number(0.9), ["R"] = ParamValue.Number(1), ["C"] = ParamValue.Number(1),
        }, 4, 0.001));
        Assert.Equal("beta", e.Parameter);
        model.Compile(new Dictionary<string, ParamValue> { ["beta"] = ParamValue.Number(0.9), ["C"] = ParamValue.Number(2) }, 4, 0.001);
    }

    [Fact]
    public void SnnTorchClampsBetaLikeTheLibrary()
    {
        // beta = 1.7 behaves as beta = 1 (snntorch clamps at every use).
        var c = RefCase.Load("snntorch_leaky_subtract");
        var clamped = c.ServerParams();
        clamped["beta"] = ParamValue.Number(1.7);
        var one = c.ServerParams();
        one["beta"] = ParamValue.Number(1);
        var a = new CaseRunner(c, StepMode.Whole, clamped);
        var b = new CaseRunner(c, StepMode.Whole, one);
        for (int t = 0; t < c.Time; t++)
        {
            for (int i = 0; i < a.X.Length; i++)
            {
                a.X[i] = b.X[i] = c.Input[i / c.Neurons][t][i % c.Neurons];
            }

            a.StepOnce(c.Batch, c.Neurons);
            b.StepOnce(c.Batch, c.Neurons);
            Assert.Equal(b.State[0], a.State[0]);
        }
    }

    [Fact]
    public void InhibitionIsNotSplittable()
    {
        var p = Minimal("snntorch.Leaky");
        Assert.True(Get("snntorch.Leaky").Compile(p, 8, 0.001).SplittableAcrossNeurons);
        p["inhibition"] = ParamValue.Switch(true);
        Assert.False(Get("snntorch.Leaky").Compile(p, 8, 0.001).SplittableAcrossNeurons);
    }

    public static TheoryData<string, bool> AllocationCases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var name in RefCase.Names())
        {
            data.Add(name, false);
            data.Add(name, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AllocationCases))]
    public void StepDoesNotAllocate(string caseName, bool perNeuron)
    {
        var c = RefCase.Load(caseName);
        var run = new CaseRunner(c, perNeuron ? StepMode.PerNeuronArrays : StepMode.Whole);
        var rnd = new Random(1);
        for (int i = 0; i < run.X.Length; i++)
        {
            run.X[i] = (float)rnd.NextDouble();
        }

        void Steps(int n)
        {
            for (int k = 0; k < n; k++)
            {
                run.Kernel.Step(run.State, run.X, run.Rec, run.Spikes, 0, c.Batch, 0, c.Neurons);
                if (run.Kernel.SplittableAcrossNeurons)
                {
                    run.Kernel.Step(run.State, run.X, run.Rec, run.Spikes, 1, 1, 1, c.Neurons - 1);
                }
            }
        }

        long Window()
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Steps(2000);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Steps(200);
        // A window is measured again when it saw bytes: a one-off allocation by the runtime on this
        // thread (seen once in CI: 2,888 B in 2,000 steps) does not repeat; an allocation per step does.
        long allocated = Window();
        for (int attempt = 1; attempt < 3 && allocated != 0; attempt++)
        {
            allocated = Window();
        }

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void CatalogueEntriesAreWellFormed()
    {
        var expectedStates = new Dictionary<string, string[]>
        {
            ["sinabs.IAF"] = ["v_mem", "i_syn"],
            ["sinabs.LIF"] = ["v_mem", "i_syn"],
            ["sinabs.ALIF"] = ["v_mem", "i_syn", "b", "spike_threshold"],
            ["snntorch.Leaky"] = ["mem"],
            ["snntorch.RLeaky"] = ["spk", "mem"],
            ["snntorch.Synaptic"] = ["syn", "mem"],
            ["snntorch.Alpha"] = ["syn_exc", "syn_inh", "mem"],
            ["snntorch.Lapicque"] = ["mem"],
            ["norse.IAF"] = ["v"],
            ["norse.LIF"] = ["v", "i"],
            ["norse.LSNN"] = ["v", "i", "b"],
            ["norse.LIFAdEx"] = ["v", "i", "a"],
        };
        foreach (var (name, states) in expectedStates)
        {
            var m = Get(name);
            Assert.Equal(states, m.StateVariables);
            Assert.Equal(m.Parameters.Count, m.Parameters.Select(p => p.Name).Distinct().Count());
            Assert.All(m.Parameters, p => Assert.False(string.IsNullOrWhiteSpace(p.Description)));
            Assert.All(m.Parameters.Where(p => p.Kind == ParamKind.Choice), p => Assert.Contains(p.Default, p.Choices));
            Assert.Equal(name == "snntorch.RLeaky", m.HasRecurrentInput);
        }
    }

    [Theory]
    [InlineData("norse.LIF", "v", 0.25f)]
    [InlineData("norse.LSNN", "b", 0.75f)]
    [InlineData("norse.IAF", "v", -0.25f)]
    [InlineData("norse.LIFAdEx", "v", 0.25f)]
    [InlineData("sinabs.ALIF", "spike_threshold", 2f)]
    public void InitialStateFollowsTheLibrary(string modelName, string stateName, float expected)
    {
        var model = Get(modelName);
        var p = Minimal(modelName);
        switch (modelName)
        {
            case "norse.LIF" or "norse.LIFAdEx": p["v_leak"] = ParamValue.Number(0.25); break;
            case "norse.LSNN": p["v_th"] = ParamValue.Number(0.75); break;
            case "norse.IAF": p["v_reset"] = ParamValue.Number(-0.25); break;
            default: p["spike_threshold"] = ParamValue.Number(2); break;
        }

        var kernel = model.Compile(p, 5, 0.001);
        var state = model.StateVariables.Select(_ => Enumerable.Repeat(float.NaN, 15).ToArray()).ToArray();
        kernel.Initialize(state, 1, 2);
        int s = model.StateVariables.ToList().IndexOf(stateName);
        Assert.All(state[s].Skip(5), v => Assert.Equal(expected, v));
        Assert.All(state[s].Take(5), v => Assert.True(float.IsNaN(v))); // other instances untouched
    }
}
