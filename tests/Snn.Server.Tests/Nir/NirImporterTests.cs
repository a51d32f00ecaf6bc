using Snn.Protos.V1;
using Snn.Server.Engine;
using Snn.Server.Nir;
using Snn.Server.Services;
using OneToOneProjection = Snn.Protos.V1.OneToOneProjection;
using SparseProjection = Snn.Protos.V1.SparseProjection;

namespace Snn.Server.Tests.Nir;

/// <summary>
/// The importer's graph mapping and each flavour's parameters, on the library-written files in
/// tests/data/nir and on graphs built here; every spec it makes must build into a network.
/// </summary>
public sealed class NirImporterTests
{
    private static NirGraph Read(string name) => NirReader.Read(Path.Combine(AppContext.BaseDirectory, "data", "nir", name));

    private static NirImportResult Import(NirGraph graph, NirFlavor flavor, bool strict = false, double dt = 0.001) =>
        NirImporter.Import(graph, new NirImportOptions("net", dt, flavor, strict));

    private static Snn.Server.Engine.Network Build(NetworkSpec spec) => NetworkBuilder.Build(SpecMapping.ToDefinition(spec), new EngineLimits());

    private static NirTensor T(params float[] values) => new(values, [values.Length], false);

    private static NirTensor M(int rows, int cols, params float[] values) => new(values, [rows, cols], false);

    private static NirGraph Graph(IEnumerable<NirNode> nodes, params (string, string)[] edges) =>
        new("0.5.0", nodes.ToDictionary(n => n.Name), edges.Select(e => new NirEdge(e.Item1, e.Item2)).ToList());

    [Fact]
    public void Sinabs_cnn_becomes_conv_pool_and_dense_projections_between_IAF_populations()
    {
        var result = Import(Read("cnn_sinabs.nir"), NirFlavor.Sinabs);
        var spec = result.Spec;

        var kinds = spec.Projections.Select(p => p.KindCase).ToList();
        Assert.Equal(3, kinds.Count(k => k == ProjectionSpec.KindOneofCase.Conv2D));
        Assert.Equal(2, kinds.Count(k => k == ProjectionSpec.KindOneofCase.SumPool2D));
        Assert.Equal(2, kinds.Count(k => k == ProjectionSpec.KindOneofCase.Dense));
        Assert.Equal(5, spec.Populations.Count(p => p.Model == "sinabs.IAF"));
        var first = spec.Populations.Single(p => p.Name == "1");
        Assert.Equal([16u, 16u, 16u], first.Shape);
        Assert.Equal(-first.Params["spike_threshold"].Scalar, first.Params["min_v_mem"].Scalar);
        Assert.Contains(result.Report, l => l.Node == "1" && l.Becomes.Contains("sinabs.IAF"));

        var network = Build(spec);
        Assert.Equal(spec.Populations.Count, network.Populations.Length);
    }

    [Fact]
    public void Snntorch_nested_recurrent_cuba_lif_is_Synaptic_fed_back_its_weights_with_parameters_computed_in_float64()
    {
        var graph = Read("braille_noDelay_bias_zero_subgraph.nir");
        var spec = Import(graph, NirFlavor.Snntorch).Spec;

        var lif = spec.Populations.Single(p => p.Name == "lif1.lif1");
        Assert.Equal("snntorch.Synaptic", lif.Model);
        var node = (NirCubaLIF)((NirSubgraph)graph.Nodes["lif1"]).Graph.Nodes["lif1"];
        Assert.True(node.TauSyn.WasFloat64);
        double expectedAlpha = 1 - 1e-4 / node.TauSyn.Doubles![0];
        Assert.Equal((float)expectedAlpha, AlphaOf(lif, 0));
        Assert.Equal("zero", lif.Params["reset_mechanism"].Text);
        Assert.False(lif.Params["reset_delay"].Flag);

        var recurrent = spec.Projections.Single(p => p.Source == "lif1.lif1" && p.Target == "lif1.lif1");
        Assert.Equal("lif1.lin", recurrent.Name);
        Assert.False(recurrent.BiasOnFirstStep, "nirtorch's feedback is zero at step 0, bias included");
        Assert.Equal("snntorch.Synaptic", spec.Populations.Single(p => p.Name == "lif2").Model);
    }

    [Fact]
    public void Snntorch_refuses_a_top_level_recurrent_pair_its_importer_rewires_wrongly()
    {
        var e = Assert.Throws<NirFormatException>(() => Import(Read("braille_noDelay_noBias_subtract.nir"), NirFlavor.Snntorch));
        Assert.Contains("lif1.w_rec", e.Message);
    }

    private static float AlphaOf(PopulationSpec pop, int neuron)
    {
        var alpha = pop.Params["alpha"];
        return alpha.ValueCase == ParameterValue.ValueOneofCase.Scalar ? (float)alpha.Scalar : alpha.PerNeuron.Values[neuron];
    }

    [Fact]
    public void A_nested_recurrent_subgraph_is_inlined_with_its_cycle_and_the_reader_repair_reported()
    {
        var result = Import(Read("braille_noDelay_bias_zero_subgraph.nir"), NirFlavor.Generic);
        var spec = result.Spec;

        Assert.Equal(["input", "lif1.lif1", "lif2"], spec.Populations.Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("nir.CubaLIF", spec.Populations.Single(p => p.Name == "lif1.lif1").Model);
        var selfLoop = spec.Projections.Single(p => p.Source == p.Target);
        Assert.Equal(("lif1.lin", "lif1.lif1"), (selfLoop.Name, selfLoop.Source));
        Assert.Equal(["fc1", "fc2", "lif1.lin"], spec.Projections.Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Contains(result.Report, l => l.Node == "lif1" && l.Becomes == "inlined");
    }

    [Fact]
    public void Float64_parameters_are_flagged_and_strict_refuses_them_naming_each()
    {
        var graph = Read("braille_noDelay_noBias_subtract.nir");
        var lenient = Import(graph, NirFlavor.Generic);
        Assert.Contains(lenient.Report, l => l.Lossy && l.Becomes == "tau_syn" && l.Detail.Contains("float64"));

        var e = Assert.Throws<EngineException>(() => Import(graph, NirFlavor.Generic, strict: true));
        Assert.Equal(EngineError.FailedPrecondition, e.Error);
        Assert.Contains("lif1.lif: float64", e.Message);
    }

    [Fact]
    public void Norse_lif_becomes_LIFBox_with_tau_mem_inv_the_float32_reciprocal()
    {
        var spec = Import(Read("lif_norse.nir"), NirFlavor.Norse).Spec;

        var lif = spec.Populations.Single(p => p.Name == "1");
        Assert.Equal("norse.LIFBox", lif.Model);
        Assert.Equal(1f / 0.0025f, (float)lif.Params["tau_mem_inv"].Scalar);
        Assert.Equal(ProjectionSpec.KindOneofCase.Dense, spec.Projections.Single().KindCase);
    }

    [Fact]
    public void A_flavour_refuses_a_neuron_its_library_does_not_map_naming_the_node()
    {
        var graph = Graph([new NirInput("in", [2]), new NirLI("li", T(0.01f), T(1f), T(0f)), new NirOutput("out", [2])],
            ("in", "li"), ("li", "out"));

        var e = Assert.Throws<NirFormatException>(() => Import(graph, NirFlavor.Snntorch));
        Assert.Equal("li", e.Node);
        Assert.Contains("--flavor generic", e.Message);
    }

    [Fact]
    public void Snntorch_refuses_what_its_importer_asserts_against()
    {
        var graph = Graph([
            new NirInput("in", [2]),
            new NirLIF("lif", T(0.001f, 0.001f), T(10f, 10f), T(0.5f, 0.5f), T(1f, 1f), T(0f, 0f)),
            new NirOutput("out", [2]),
        ], ("in", "lif"), ("lif", "out"));

        var e = Assert.Throws<NirFormatException>(() => Import(graph, NirFlavor.Snntorch));
        Assert.Equal("v_leak", e.Field);
    }

    [Fact]
    public void Snntorch_lif_beta_is_one_minus_dt_over_tau_in_float32_and_a_scaled_input_moves_the_threshold()
    {
        var graph = Graph([
            new NirInput("in", [2]),
            new NirAffine("fc", M(2, 2, 0.5f, 0f, 0f, 0.5f), T(0f, 0f)),
            new NirLIF("lif", T(0.001f, 0.002f), T(10f, 10f), T(0f, 0f), T(1f, 1f), T(0f, 0f)),
            new NirOutput("out", [2]),
        ], ("in", "fc"), ("fc", "lif"), ("lif", "out"));

        var result = Import(graph, NirFlavor.Snntorch);
        var lif = result.Spec.Populations.Single(p => p.Name == "lif");

        Assert.Equal(1f - 1e-4f / 0.001f, lif.Params["beta"].PerNeuron.Values[0]);
        Assert.Equal(1f - 1e-4f / 0.002f, lif.Params["beta"].PerNeuron.Values[1]);
        // r*dt/tau = 10*1e-4/0.001 = 1 for neuron 0 and 0.5 for neuron 1; snntorch divides by the smallest (0.5).
        Assert.Equal(1f / (10f * 1e-4f / 0.002f), (float)lif.Params["threshold"].Scalar);
        Assert.Contains(result.Report, l => l.Lossy && l.Becomes == "parameter threshold");
    }

    [Fact]
    public void Chained_operations_hold_the_first_result_in_a_passthrough_and_a_delay_becomes_delay_steps()
    {
        var graph = Graph([
            new NirInput("in", [2]),
            new NirScale("scale", T(2f, 3f)),
            new NirLinear("fc", M(2, 2, 1f, 1f, 1f, 1f)),
            new NirDelay("d", T(0.003f, 0.003f)),
            new NirIF("if", T(1f, 1f), T(1f, 1f), T(0f, 0f)),
            new NirOutput("out", [2]),
        ], ("in", "scale"), ("scale", "fc"), ("fc", "d"), ("d", "if"), ("if", "out"));

        var spec = Import(graph, NirFlavor.Generic).Spec;

        Assert.Equal("passthrough", spec.Populations.Single(p => p.Name == "scale").Model);
        var fc = spec.Projections.Single(p => p.Name == "fc");
        Assert.Equal(("scale", "if", 3u), (fc.Source, fc.Target, fc.DelaySteps));
        Assert.Equal(ProjectionSpec.KindOneofCase.OneToOne, spec.Projections.Single(p => p.Name == "scale").KindCase);
    }

    [Fact]
    public void Export_then_import_gives_back_the_same_network()
    {
        var graph = Graph([
            new NirInput("in", [3]),
            new NirAffine("fc1", M(2, 3, 0.5f, -0.25f, 1f, 0.125f, 0f, 2f), T(0.1f, -0.2f)),
            new NirLIF("lif1", T(0.01f, 0.02f), T(1f, 2f), T(0f, 0.1f), T(1f, 1.5f), T(0f, -0.5f)),
            new NirLinear("fc2", M(2, 2, 1f, 0f, 0f, 1f)),
            new NirCubaLIF("lif2", T(0.005f, 0.005f), T(0.01f, 0.01f), T(1f, 1f), T(0f, 0f), T(1f, 1f), T(0f, 0f), T(2f, 2f)),
            new NirAffine("rec", M(2, 2, 0f, 0.5f, 0.5f, 0f), T(0f, 0f)),
            new NirOutput("output", [2]),
        ], ("in", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "rec"), ("rec", "lif2"), ("lif2", "output"));

        var first = Import(graph, NirFlavor.Generic).Spec;
        var exported = NirExporter.Export(first, []);
        var second = Import(exported, NirFlavor.Generic).Spec;

        Assert.Equal(first.ToString(), second.ToString());
        var lif1 = Assert.IsType<NirLIF>(exported.Nodes["lif1"]);
        Assert.Equal([0.01f, 0.02f], lif1.Tau.Values);
        Assert.Equal([0f, -0.5f], lif1.VReset.Values);
    }

    private static NetworkSpec Spec(params PopulationSpec[] populations)
    {
        var spec = new NetworkSpec { Name = "net", Dt = 0.001 };
        spec.Populations.AddRange(populations);
        return spec;
    }

    [Fact]
    public void Export_refuses_a_model_NIR_has_no_node_for_naming_the_population()
    {
        var spec = Spec(new PopulationSpec { Name = "in", Model = "input", Size = 2 },
            new PopulationSpec { Name = "adex", Model = "norse.LIFAdEx", Size = 2 });
        spec.Projections.Add(new ProjectionSpec { Name = "p", Source = "in", Target = "adex", OneToOne = new OneToOneProjection() });

        var e = Assert.Throws<EngineException>(() => NirExporter.Export(spec, []));
        Assert.Equal(EngineError.FailedPrecondition, e.Error);
        Assert.Contains("'adex'", e.Message);
    }

    [Fact]
    public void Export_refuses_a_sparse_projection_too_large_to_write_as_a_dense_matrix()
    {
        var spec = Spec(new PopulationSpec { Name = "in", Model = "input", Size = 1 << 14 },
            new PopulationSpec { Name = "out", Model = "nir.I", Size = 1 << 14, Params = { ["r"] = new ParameterValue { Scalar = 1 } } });
        spec.Projections.Add(new ProjectionSpec
        {
            Name = "wide", Source = "in", Target = "out",
            Sparse = new SparseProjection { Pre = { 0u }, Post = { 1u }, Weights = { 0.5f } },
        });

        var e = Assert.Throws<EngineException>(() => NirExporter.Export(spec, []));
        Assert.Contains("'wide'", e.Message);
    }

    [Fact]
    public void Export_writes_a_snntorch_Leaky_as_snntorch_export_does()
    {
        var spec = Spec(new PopulationSpec { Name = "in", Model = "input", Size = 1 },
            new PopulationSpec
            {
                Name = "lif", Model = "snntorch.Leaky", Size = 1,
                Params = { ["beta"] = new ParameterValue { Scalar = 0.9f }, ["threshold"] = new ParameterValue { Scalar = 1.5f } },
            });
        spec.Projections.Add(new ProjectionSpec { Name = "p", Source = "in", Target = "lif", OneToOne = new OneToOneProjection() });
        var report = new List<NirConversion>();

        var graph = NirExporter.Export(spec, report);

        var lif = Assert.IsType<NirLIF>(graph.Nodes["lif"]);
        float tau = 1e-4f / (1f - 0.9f);
        Assert.Equal([tau], lif.Tau.Values);
        Assert.Equal([tau / 1e-4f], lif.R.Values);
        Assert.Equal([1.5f], lif.VThreshold.Values);
        Assert.Contains(report, l => l.Lossy && l.Node == "lif" && l.Becomes == "v_reset");
        Assert.Equal([new NirEdge("in", "lif"), new NirEdge("lif", "output")], graph.Edges);
    }

    [Fact]
    public void A_shape_beyond_the_server_limits_is_refused_before_anything_is_written_out()
    {
        var huge = Graph([new NirInput("in", [1 << 13, 1 << 13]), new NirOutput("out", [1 << 13, 1 << 13])], ("in", "out"));
        var e = Assert.Throws<NirFormatException>(() => Import(huge, NirFlavor.Generic));
        Assert.Equal(("in", "shape"), (e.Node, e.Field));

        var conv = Graph([
            new NirInput("in", [8, 4096, 4096]),
            new NirConv("conv", 2, new NirTensor(new float[16 * 4 * 9], [16, 4, 3, 3], false), T(new float[16]), [1, 1], [1, 1], null, [2, 2], 2, null),
            new NirOutput("out", []),
        ], ("in", "conv"), ("conv", "out"));
        var small = new Snn.Server.Engine.EngineLimits { MaxNeuronsPerPopulation = 1 << 30 };
        var written = Assert.Throws<NirFormatException>(() => NirImporter.Import(conv, new NirImportOptions("net", 0.001, NirFlavor.Generic, false, small)));
        Assert.Equal(("conv", "weight"), (written.Node, written.Field));
        Assert.Contains("synapses", written.Message);
    }
}
