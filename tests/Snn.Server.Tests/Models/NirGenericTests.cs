using System.Globalization;
using System.Text.Json;
using Snn.Server.Models;

namespace Snn.Server.Tests.Models;

/// <summary>
/// The generic NIR models (docs/nir.md, "Generic discretisation") against the NumPy float32
/// transcription of the scheme (nir_generic_reference.py, traces in tests/data/nirgeneric): the same
/// bits after every step, at whatever Vector width the run has (CI runs this assembly at 256 and 512).
/// </summary>
public sealed class NirGenericTests
{
    private static string Directory => Path.Combine(AppContext.BaseDirectory, "data", "nirgeneric");

    public static TheoryData<string, StepMode> Traces()
    {
        var data = new TheoryData<string, StepMode>();
        foreach (var file in System.IO.Directory.GetFiles(Directory, "*.json").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileNameWithoutExtension(file), StepMode.Whole);
            data.Add(Path.GetFileNameWithoutExtension(file), StepMode.SplitHalves);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Traces))]
    public void Reproduces_the_reference_bit_for_bit(string name, StepMode mode)
    {
        var c = Trace.Load(name);
        Assert.True(ModelCatalog.TryGet(c.Model, out var model), c.Model);
        var kernel = model.Compile(c.Params, c.Neurons, c.Dt);
        int n = c.Neurons, total = c.Batch * n;
        var state = model.StateVariables.Select(_ => new float[total]).ToArray();
        var x = new float[total];
        var spikes = new float[total];
        kernel.Initialize(state, 0, c.Batch);
        int mismatches = 0;
        string? first = null;
        for (int t = 0; t < c.Time; t++)
        {
            for (int b = 0; b < c.Batch; b++)
            {
                c.Input[b][t].CopyTo(x, b * n);
            }

            if (mode == StepMode.SplitHalves)
            {
                for (int b = c.Batch - 1; b >= 0; b--)
                {
                    kernel.Step(state, x, [], spikes, b, 1, n / 2, n);
                    kernel.Step(state, x, [], spikes, b, 1, 0, n / 2);
                }
            }
            else
            {
                kernel.Step(state, x, [], spikes, 0, c.Batch, 0, n);
            }

            Compare("output", c.Spikes, spikes);
            for (int s = 0; s < model.StateVariables.Count; s++)
            {
                Compare(model.StateVariables[s], c.States[model.StateVariables[s]], state[s]);
            }

            void Compare(string what, float[][][] expected, float[] actual)
            {
                for (int b = 0; b < c.Batch; b++)
                {
                    for (int i = 0; i < n; i++)
                    {
                        float e = expected[b][t][i], a = actual[b * n + i];
                        if (BitConverter.SingleToInt32Bits(e) != BitConverter.SingleToInt32Bits(a) && !(e == 0f && a == 0f))
                        {
                            mismatches++;
                            first ??= $"{what}[batch {b}, step {t}, neuron {i}] = {a:R}, reference {e:R}";
                        }
                    }
                }
            }
        }

        Assert.True(mismatches == 0, $"{name} [{mode}]: {mismatches} values differ; first: {first}");
    }

    [Fact]
    public void Scalar_parameters_step_as_the_same_values_given_per_neuron()
    {
        // The traces give every parameter per neuron; a scalar takes the broadcast path of the kernel.
        foreach (var file in System.IO.Directory.GetFiles(Directory, "*.json"))
        {
            var c = Trace.Load(Path.GetFileNameWithoutExtension(file));
            ModelCatalog.TryGet(c.Model, out var model);
            int n = c.Neurons, total = c.Batch * n;
            var scalar = c.Params.ToDictionary(p => p.Key, p => ParamValue.Number(p.Value.PerNeuron![0]));
            var repeated = c.Params.ToDictionary(p => p.Key, p => ParamValue.Numbers(Enumerable.Repeat(p.Value.PerNeuron![0], n).ToArray()));
            var kernels = new[] { model.Compile(scalar, n, c.Dt), model.Compile(repeated, n, c.Dt) };
            var states = kernels.Select(_ => model.StateVariables.Select(_ => new float[total]).ToArray()).ToArray();
            var outputs = new[] { new float[total], new float[total] };
            var x = new float[total];
            for (int k = 0; k < 2; k++)
            {
                kernels[k].Initialize(states[k], 0, c.Batch);
            }

            for (int t = 0; t < c.Time; t++)
            {
                for (int b = 0; b < c.Batch; b++)
                {
                    c.Input[b][t].CopyTo(x, b * n);
                }

                for (int k = 0; k < 2; k++)
                {
                    kernels[k].Step(states[k], x, [], outputs[k], 0, c.Batch, 0, n);
                }

                Assert.True(outputs[0].AsSpan().SequenceEqual(outputs[1]), $"{c.Model} step {t}: outputs differ");
                for (int s = 0; s < states[0].Length; s++)
                {
                    Assert.True(states[0][s].AsSpan().SequenceEqual(states[1][s]), $"{c.Model} step {t}: {model.StateVariables[s]} differs");
                }
            }
        }
    }

    [Fact]
    public void The_compiled_constants_are_the_references()
    {
        // gain, a, a_syn and w_in*(1 - a_syn): exp and 1 - exp in double, rounded to float32 once.
        foreach (var file in System.IO.Directory.GetFiles(Directory, "*.json"))
        {
            var c = Trace.Load(Path.GetFileNameWithoutExtension(file));
            ModelCatalog.TryGet(c.Model, out var model);
            var kernel = (VectorKernel<NirGenericRule>)model.Compile(c.Params, c.Neurons, c.Dt);
            foreach (var (constant, lane) in new[] { ("gain", 0), ("a", 1), ("a_syn", 3), ("w_gain", 4) })
            {
                if (c.Derived.TryGetValue(constant, out var expected))
                {
                    for (int i = 0; i < c.Neurons; i++)
                    {
                        Assert.True(expected[i] == kernel.Lane(lane, i), $"{c.Model} {constant}[{i}] = {kernel.Lane(lane, i):R}, reference {expected[i]:R}");
                    }
                }
            }
        }
    }

    [Fact]
    public void Every_nir_model_has_a_reference_trace()
    {
        var traced = System.IO.Directory.GetFiles(Directory, "*.json").Select(f => Trace.Load(Path.GetFileNameWithoutExtension(f)).Model).ToHashSet();
        var nir = ModelCatalog.All.Where(m => m.Name.StartsWith("nir.", StringComparison.Ordinal)).Select(m => m.Name).ToList();
        Assert.Equal(["nir.I", "nir.LI", "nir.IF", "nir.LIF", "nir.CubaLI", "nir.CubaLIF"], nir);
        Assert.All(nir, m => Assert.Contains(m, traced));
    }

    /// <summary>
    /// Constant input x from rest: the exact solution is v(t) = v* + (v_leak - v*) exp(-t/tau) with
    /// v* = v_leak + r*x. The scheme gives it at every step up to float32 rounding; explicit Euler
    /// (v += dt/tau*((v_leak - v) + r*x)) is off by far more than that bound.
    /// </summary>
    [Fact]
    public void LI_with_constant_input_follows_the_exact_exponential_to_its_fixed_point()
    {
        const double dt = 0.001;
        const float tau = 0.02f, r = 2f, vLeak = -0.1f, input = 0.7f;
        ModelCatalog.TryGet("nir.LI", out var model);
        var kernel = model.Compile(Params(("tau", tau), ("r", r), ("v_leak", vLeak)), 1, dt);
        var state = new[] { new float[1] };
        var spikes = new float[1];
        float[] x = [input];
        kernel.Initialize(state, 0, 1);
        Assert.Equal(vLeak, state[0][0]);

        double fixedPoint = (double)vLeak + (double)r * input;
        double a = Math.Exp(-dt / tau);

        // Each step adds at most 4 float32 roundings of values below 2|v*| (relative 2^-24 each), and
        // the step contracts earlier errors by a, so the error stays below 8|v*| 2^-24 / (1 - a).
        double bound = 8 * Math.Abs(fixedPoint) * Math.Pow(2, -24) / (1 - a);
        double euler = vLeak;
        double worstEulerGap = 0;
        for (int step = 1; step <= 2000; step++)
        {
            kernel.Step(state, x, [], spikes, 0, 1, 0, 1);
            double exact = fixedPoint + (vLeak - fixedPoint) * Math.Exp(-step * dt / tau);
            Assert.True(Math.Abs(state[0][0] - exact) <= bound, $"step {step}: v = {state[0][0]:R}, exact {exact:R}, bound {bound:R}");
            Assert.Equal(state[0][0], spikes[0]); // a non-spiking model's output is v
            euler += dt / tau * ((vLeak - euler) + (double)r * input);
            worstEulerGap = Math.Max(worstEulerGap, Math.Abs(euler - exact));
        }

        Assert.True(Math.Abs(state[0][0] - fixedPoint) <= bound, $"after 100 tau: v = {state[0][0]:R}, v_leak + r*x = {fixedPoint:R}");
        Assert.True(worstEulerGap > 100 * bound, $"Euler's gap {worstEulerGap:R} should dwarf the bound {bound:R}");
    }

    [Fact]
    public void IF_spikes_only_strictly_above_the_threshold_and_sets_v_reset()
    {
        ModelCatalog.TryGet("nir.IF", out var model);
        // r*dt = 1000*0.001 = 1 exactly in float32.
        var kernel = model.Compile(Params(("r", 1000f), ("v_threshold", 1f), ("v_reset", -0.25f)), 1, 0.001);
        var state = new[] { new float[1] };
        var spikes = new float[1];
        kernel.Initialize(state, 0, 1);
        Assert.Equal(0f, state[0][0]);
        var seen = new List<(float V, float Z)>();
        foreach (float input in new[] { 0.5f, 0.5f, 0.5f, 0.25f })
        {
            kernel.Step(state, [input], [], spikes, 0, 1, 0, 1);
            seen.Add((state[0][0], spikes[0]));
        }

        Assert.Equal([(0.5f, 0f), (1f, 0f), (-0.25f, 1f), (0f, 0f)], seen);
    }

    [Fact]
    public void CubaLIF_starts_at_v_leak_with_no_current()
    {
        ModelCatalog.TryGet("nir.CubaLIF", out var model);
        Assert.Equal(["v", "I"], model.StateVariables);
        var kernel = model.Compile(Params(("tau_syn", 0.005f), ("tau_mem", 0.01f), ("r", 1f), ("v_leak", new[] { 0.25f, -0.5f }),
            ("v_threshold", 1f)), 2, 0.001);
        var state = new[] { new float[] { 9, 9, 9, 9 }, new float[] { 9, 9, 9, 9 } };
        kernel.Initialize(state, 1, 1);
        Assert.Equal([9f, 9f, 0.25f, -0.5f], state[0]);
        Assert.Equal([9f, 9f, 0f, 0f], state[1]);
    }

    [Theory]
    [InlineData("nir.LIF", "tau", "requires parameter 'tau'")]
    [InlineData("nir.CubaLI", "tau_syn", "requires parameter 'tau_syn'")]
    [InlineData("nir.IF", "v_threshold", "requires parameter 'v_threshold'")]
    [InlineData("nir.I", "r", "requires parameter 'r'")]
    public void A_missing_NIR_parameter_is_named(string modelName, string missing, string message)
    {
        ModelCatalog.TryGet(modelName, out var model);
        var all = new Dictionary<string, ParamValue>
        {
            ["tau"] = ParamValue.Number(0.01), ["tau_syn"] = ParamValue.Number(0.005), ["tau_mem"] = ParamValue.Number(0.01),
            ["r"] = ParamValue.Number(1), ["v_leak"] = ParamValue.Number(0), ["v_threshold"] = ParamValue.Number(1),
        };
        var given = all.Where(p => p.Key != missing && model.Parameters.Any(d => d.Name == p.Key)).ToDictionary();
        var e = Assert.Throws<ModelParameterException>(() => model.Compile(given, 3, 0.001));
        Assert.Equal(missing, e.Parameter);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parameters_are_NIR_names_only()
    {
        ModelCatalog.TryGet("nir.LIF", out var model);
        Assert.Equal(["tau", "r", "v_leak", "v_threshold", "v_reset"], model.Parameters.Select(p => p.Name));
        var e = Assert.Throws<ModelParameterException>(() => model.Compile(
            Params(("tau", 0.01f), ("r", 1f), ("v_leak", 0f), ("v_threshold", 1f), ("dt", 0.001f)), 1, 0.001));
        Assert.Equal("dt", e.Parameter);

        ModelCatalog.TryGet("nir.CubaLIF", out var cuba);
        Assert.Equal(["tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"], cuba.Parameters.Select(p => p.Name));

        // r*dt past float32 is refused by name rather than stepping infinities.
        ModelCatalog.TryGet("nir.I", out var integrator);
        var overflow = Assert.Throws<ModelParameterException>(() => integrator.Compile(Params(("r", 3e38f)), 1, 10));
        Assert.Equal("r", overflow.Parameter);
    }

    private static Dictionary<string, ParamValue> Params(params (string Name, object Value)[] values) =>
        values.ToDictionary(v => v.Name, v => v.Value is float[] a ? ParamValue.Numbers(a) : ParamValue.Number((float)v.Value));

    /// <summary>One trace written by nir_generic_reference.py.</summary>
    private sealed class Trace
    {
        public required string Model { get; init; }

        public required double Dt { get; init; }

        public required int Batch { get; init; }

        public required int Time { get; init; }

        public required int Neurons { get; init; }

        public required Dictionary<string, ParamValue> Params { get; init; }

        public required Dictionary<string, float[]> Derived { get; init; }

        public required float[][][] Input { get; init; }

        public required float[][][] Spikes { get; init; }

        public required Dictionary<string, float[][][]> States { get; init; }

        public static Trace Load(string name)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, name + ".json")));
            var root = doc.RootElement;
            var shape = root.GetProperty("shape");
            return new Trace
            {
                Model = root.GetProperty("model").GetString()!,
                Dt = root.GetProperty("dt").GetDouble(),
                Batch = shape.GetProperty("batch").GetInt32(),
                Time = shape.GetProperty("time").GetInt32(),
                Neurons = shape.GetProperty("neurons").GetInt32(),
                Params = root.GetProperty("params").EnumerateObject().ToDictionary(p => p.Name, p => ParamValue.Numbers(Vector(p.Value))),
                Derived = root.GetProperty("derived").EnumerateObject().ToDictionary(p => p.Name, p => Vector(p.Value)),
                Input = Cube(root.GetProperty("input")),
                Spikes = Cube(root.GetProperty("spikes")),
                States = root.GetProperty("states").EnumerateObject().ToDictionary(p => p.Name, p => Cube(p.Value)),
            };
        }

        private static float[] Vector(JsonElement e) =>
            e.EnumerateArray().Select(v => float.Parse(v.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray();

        private static float[][][] Cube(JsonElement e) => e.EnumerateArray().Select(m => m.EnumerateArray().Select(Vector).ToArray()).ToArray();
    }
}
