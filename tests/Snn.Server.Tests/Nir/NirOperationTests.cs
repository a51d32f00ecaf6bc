using Snn.Protos.V1;
using Snn.Server.Nir;
using Snn.Server.Services;
using Snn.Server.Tests.Engine;

namespace Snn.Server.Tests.Nir;

/// <summary>
/// Every NIR node type imported and stepped: each operation's result (held in the passthrough population
/// an Output reads) against the operation computed here from NIR's definition, and the stateful and
/// threshold nodes against their equations. Values are multiples of 1/64 so that any summation order gives
/// the same bits.
/// </summary>
public sealed class NirOperationTests
{
    private static NirTensor T(int[] shape, params float[] values) => new(values, shape, false);

    private static NirTensor V(params float[] values) => new(values, [values.Length], false);

    /// <summary>Imports Input(shape) → node → Output, steps once with <paramref name="input"/>, returns the Output's values.</summary>
    private static float[] StepThrough(NirNode node, int[] inputShape, float[] input, out NetworkSpec spec)
    {
        var graph = new NirGraph("0.5.0",
            new Dictionary<string, NirNode> { ["in"] = new NirInput("in", inputShape), [node.Name] = node, ["out"] = new NirOutput("out", []) },
            [new NirEdge("in", node.Name), new NirEdge(node.Name, "out")]);
        spec = NirImporter.Import(graph, new NirImportOptions("net", 0.001, NirFlavor.Generic, Strict: false)).Spec;
        var harness = new EngineHarness(SpecMapping.ToDefinition(spec));
        harness.Step("in", _ => input);
        string output = spec.Populations.Any(p => p.Name == "out") ? "out" : node.Name;
        return harness.Output(output);
    }

    private static float[] Ramp(int n, int seed = 1)
    {
        var values = new float[n];
        for (int i = 0; i < n; i++)
            values[i] = ((i * 7 + seed * 3) % 11 - 5) / 8f;
        return values;
    }

    /// <summary>torch's conv (cross-correlation) over [C, H, W] with groups, dilation and zero padding, in double.</summary>
    private static float[] Conv(float[] x, int c, int h, int w, float[] weight, int outC, int kh, int kw, float[] bias,
        int sh, int sw, int ph, int pw, int dh, int dw, int groups)
    {
        int outH = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1, outW = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
        int inPerGroup = c / groups, outPerGroup = outC / groups;
        var y = new float[outC * outH * outW];
        for (int o = 0; o < outC; o++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    double sum = bias[o];
                    for (int i = 0; i < inPerGroup; i++)
                        for (int ky = 0; ky < kh; ky++)
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int sy = oy * sh - ph + ky * dh, sx = ox * sw - pw + kx * dw;
                                if (sy >= 0 && sy < h && sx >= 0 && sx < w)
                                    sum += weight[((o * inPerGroup + i) * kh + ky) * kw + kx] * x[((o / outPerGroup * inPerGroup + i) * h + sy) * w + sx];
                            }

                    y[(o * outH + oy) * outW + ox] = (float)sum;
                }

        return y;
    }

    [Fact]
    public void Conv2d_without_groups_is_a_native_conv2d_projection_equal_to_the_definition()
    {
        var weight = Ramp(3 * 2 * 3 * 3, 2);
        var bias = new[] { 0.25f, -0.5f, 0f };
        var conv = new NirConv("conv", 2, T([3, 2, 3, 3], weight), V(bias), [1, 2], [1, 1], null, [1, 1], 1, null);
        var x = Ramp(2 * 5 * 6);

        var y = StepThrough(conv, [2, 5, 6], x, out var spec);

        Assert.Equal(ProjectionSpec.KindOneofCase.Conv2D, spec.Projections.Single(p => p.Name == "conv").KindCase);
        Assert.Equal(Conv(x, 2, 5, 6, weight, 3, 3, 3, bias, 1, 2, 1, 1, 1, 1, 1), y);
    }

    [Fact]
    public void Conv2d_with_groups_and_dilation_is_written_out_and_equals_the_definition()
    {
        var weight = Ramp(4 * 1 * 2 * 3, 3);
        var bias = new[] { 0f, 0.125f, -0.25f, 1f };
        var conv = new NirConv("conv", 2, T([4, 1, 2, 3], weight), V(bias), [1, 1], [0, 2], null, [2, 1], 2, null);
        var x = Ramp(2 * 5 * 5, 4);

        var y = StepThrough(conv, [2, 5, 5], x, out var spec);

        Assert.Equal(ProjectionSpec.KindOneofCase.Sparse, spec.Projections.Single(p => p.Name == "conv").KindCase);
        Assert.Equal(Conv(x, 2, 5, 5, weight, 4, 2, 3, bias, 1, 1, 0, 2, 2, 1, 2), y);
    }

    [Fact]
    public void Conv1d_and_same_padding_of_an_even_kernel_equal_the_definition()
    {
        var weight = Ramp(2 * 3 * 4, 5);
        var bias = new[] { 0.5f, 0f };
        var conv = new NirConv("conv", 1, T([2, 3, 4], weight), V(bias), [1], [0], "same", [1], 1, null);
        var x = Ramp(3 * 7, 6);

        var y = StepThrough(conv, [3, 7], x, out _);

        // "same" with a kernel of 4: 1 zero before and 2 after (torch's split); as 2-d with a height of 1.
        var padded = new float[3 * 10];
        for (int c = 0; c < 3; c++)
            Array.Copy(x, c * 7, padded, c * 10 + 1, 7);
        Assert.Equal(Conv(padded, 3, 1, 10, weight, 2, 1, 4, bias, 1, 1, 0, 0, 1, 1, 1), y);
    }

    [Fact]
    public void Pooling_sums_or_averages_each_window()
    {
        var x = Ramp(2 * 4 * 4, 7);
        var sum = StepThrough(new NirPool2d("pool", false, [2, 2], [2, 2], [0, 0]), [2, 4, 4], x, out var sumSpec);
        var avg = StepThrough(new NirPool2d("pool", true, [2, 2], [2, 2], [0, 0]), [2, 4, 4], x, out var avgSpec);

        Assert.Equal(ProjectionSpec.KindOneofCase.SumPool2D, sumSpec.Projections.Single(p => p.Name == "pool").KindCase);
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < 2; y++)
                for (int xx = 0; xx < 2; xx++)
                {
                    float s = 0;
                    for (int ky = 0; ky < 2; ky++)
                        for (int kx = 0; kx < 2; kx++)
                            s += x[(c * 4 + y * 2 + ky) * 4 + xx * 2 + kx];
                    Assert.Equal(s, sum[(c * 2 + y) * 2 + xx]);
                    Assert.Equal(s / 4, avg[(c * 2 + y) * 2 + xx]);
                }

        Assert.DoesNotContain(avgSpec.Projections, p => p.KindCase == ProjectionSpec.KindOneofCase.SumPool2D);
    }

    [Fact]
    public void Affine_linear_and_scale_compute_their_definitions()
    {
        var w = new float[] { 0.5f, -1f, 0.25f, 2f, 0f, -0.125f };
        var x = new float[] { 1f, 0.5f, -0.25f };

        Assert.Equal(new[] { 0.5f - 0.5f - 0.0625f + 1f, 2f + 0f + 0.03125f - 2f },
            StepThrough(new NirAffine("fc", T([2, 3], w), V(1f, -2f)), [3], x, out _));
        Assert.Equal(new[] { 0.5f - 0.5f - 0.0625f, 2f + 0f + 0.03125f }, StepThrough(new NirLinear("fc", T([2, 3], w)), [3], x, out _));
        Assert.Equal(new[] { 2f, -0.5f, -0.25f }, StepThrough(new NirScale("s", V(2f, -1f, 1f)), [3], x, out _));
    }

    [Fact]
    public void Flatten_keeps_c_major_order_so_an_affine_after_a_conv_sees_the_same_indices()
    {
        var graph = new NirGraph("0.5.0", new Dictionary<string, NirNode>
        {
            ["in"] = new NirInput("in", [2, 2, 2]),
            ["flat"] = new NirFlatten("flat", 0, -1, null),
            ["fc"] = new NirLinear("fc", T([1, 8], 1, 2, 4, 8, 16, 32, 64, 128)),
            ["out"] = new NirOutput("out", [1]),
        }, [new NirEdge("in", "flat"), new NirEdge("flat", "fc"), new NirEdge("fc", "out")]);
        var spec = NirImporter.Import(graph, new NirImportOptions("net", 0.001, NirFlavor.Generic, false)).Spec;
        var harness = new EngineHarness(SpecMapping.ToDefinition(spec));

        harness.Step("in", _ => [1, 0, 0, 1, 0, 0, 0, 1]);

        Assert.Equal([1f + 8f + 128f], harness.Output("fc"));
    }

    [Fact]
    public void Threshold_spikes_where_the_input_exceeds_it_strictly_and_keeps_no_state()
    {
        var node = new NirThreshold("th", V(0.5f, 0.5f, -1f + 2f, 0.25f));
        var spec = NirImporter.Import(Graph(node, [4]), new NirImportOptions("net", 0.001, NirFlavor.Generic, false)).Spec;
        var harness = new EngineHarness(SpecMapping.ToDefinition(spec));

        harness.Step("in", _ => [0.75f, 0.5f, 0.5f, 1f]);
        Assert.Equal([1f, 0f, 0f, 1f], harness.Output("th"));
        harness.Step("in", _ => [0f, 0.625f, 2f, 0f]);
        Assert.Equal([0f, 1f, 1f, 0f], harness.Output("th"));
    }

    private static NirGraph Graph(NirNode node, int[] shape) => new("0.5.0",
        new Dictionary<string, NirNode> { ["in"] = new NirInput("in", shape), [node.Name] = node, ["out"] = new NirOutput("out", []) },
        [new NirEdge("in", node.Name), new NirEdge(node.Name, "out")]);

    [Fact]
    public void A_delay_of_three_steps_shifts_the_output_by_three_steps()
    {
        var graph = new NirGraph("0.5.0", new Dictionary<string, NirNode>
        {
            ["in"] = new NirInput("in", [2]),
            ["d"] = new NirDelay("d", V(0.003f, 0.003f)),
            ["th"] = new NirThreshold("th", V(0.5f, 0.5f)),
            ["out"] = new NirOutput("out", [2]),
        }, [new NirEdge("in", "d"), new NirEdge("d", "th"), new NirEdge("th", "out")]);
        var spec = NirImporter.Import(graph, new NirImportOptions("net", 0.001, NirFlavor.Generic, false)).Spec;
        var harness = new EngineHarness(SpecMapping.ToDefinition(spec));

        var seen = new List<float[]>();
        for (int t = 0; t < 6; t++)
        {
            harness.Step("in", t == 1 ? _ => [1f, 0f] : t == 2 ? _ => [0f, 1f] : null);
            seen.Add(harness.Output("th"));
        }

        Assert.Equal([[0f, 0f], [0f, 0f], [0f, 0f], [0f, 0f], [1f, 0f], [0f, 1f]], seen);
    }

    [Fact]
    public void Every_neuron_node_imports_under_the_generic_flavour_as_its_nir_model_with_the_file_parameters()
    {
        NirNode[] nodes =
        [
            new NirI("n", V(2f, 3f)),
            new NirLI("n", V(0.01f, 0.02f), V(1f, 1f), V(0f, 0.5f)),
            new NirIF("n", V(1f, 1f), V(1f, 2f), V(0f, 0f)),
            new NirLIF("n", V(0.01f, 0.02f), V(1f, 1f), V(0f, 0f), V(1f, 1f), V(0f, -1f)),
            new NirCubaLI("n", V(0.005f, 0.005f), V(0.01f, 0.01f), V(1f, 1f), V(0f, 0f), V(1f, 2f)),
            new NirCubaLIF("n", V(0.005f, 0.005f), V(0.01f, 0.01f), V(1f, 1f), V(0f, 0f), V(1f, 1f), V(0f, 0f), V(1f, 2f)),
        ];
        foreach (var node in nodes)
        {
            var spec = NirImporter.Import(Graph(node, [2]), new NirImportOptions("net", 0.001, NirFlavor.Generic, false)).Spec;
            var pop = spec.Populations.Single(p => p.Name == "n");
            Assert.Equal("nir." + node.Type, pop.Model);
            foreach (var (field, tensor) in NirParameters.Of(node))
            {
                var value = pop.Params[field];
                var values = value.ValueCase == ParameterValue.ValueOneofCase.Scalar ? [(float)value.Scalar, (float)value.Scalar] : value.PerNeuron.Values.ToArray();
                Assert.Equal(tensor.Values, values);
            }

            _ = new EngineHarness(SpecMapping.ToDefinition(spec));
        }
    }
}
