using System.Text.Json;
using Snn.Server.Nir;

namespace Snn.Server.Tests.Nir;

/// <summary>
/// The NIR reader against files written by h5py in NIR's layout: each node type reads back with its
/// parameters (values, shapes, float64 flag) under the right names, and each malformed file fails with a
/// <see cref="NirFormatException"/> naming the node and the field.
/// </summary>
public sealed class NirReaderTests(NirFiles files) : IClassFixture<NirFiles>
{
    private static readonly string[] ValidNames =
    [
        "affine", "linear", "scale", "conv1d", "conv2d", "sumpool2d", "avgpool2d", "flatten", "delay", "threshold",
        "i", "li", "if", "lif", "cubali", "cubalif", "recurrent", "subgraph",
    ];

    private static readonly string[] MalformedNames =
    [
        "missing_tau", "lif_threshold_shape", "lif_negative_tau", "affine_bias_shape", "affine_weight_rank",
        "edge_to_missing_node", "unknown_type", "missing_type", "stateless_cycle", "conv_groups",
        "flatten_start_dim", "flatten_end_before_start", "no_output", "subgraph_bad_weight", "subgraph_stateless_cycle", "subgraph_dangling_edge",
        "nested_too_deep", "huge_dataset", "no_graph", "not_hdf5",
    ];

    public static TheoryData<string> ValidFiles => new(ValidNames);

    public static TheoryData<string> MalformedFiles => new(MalformedNames);

    [Fact]
    public void The_theories_cover_every_file_the_script_writes()
    {
        var written = files.Manifest.RootElement.EnumerateObject().Select(p => p.Name).Order().ToList();
        var listed = ValidNames.Concat(MalformedNames).Order().ToList();
        Assert.Equal(written, listed);
    }

    [Fact]
    public void Every_supported_node_type_has_a_file()
    {
        var types = ValidNames
            .SelectMany(name => NirReader.Read(files.PathOf(name)).Nodes.Values.Select(node => node.Type))
            .ToHashSet();
        Assert.Equal(NirReader.SupportedTypes.Split(", ").Order(), types.Order());
    }

    [Theory]
    [MemberData(nameof(ValidFiles))]
    public void A_file_reads_back_with_its_parameters(string name)
    {
        var expected = files.Expected(name);
        Assert.True(expected.GetProperty("ok").GetBoolean());

        var graph = NirReader.Read(files.PathOf(name));

        Assert.Equal("1.0", graph.Version);
        var expectedEdges = expected.GetProperty("edges").EnumerateArray()
            .Select(e => new NirEdge(e[0].GetString()!, e[1].GetString()!)).ToList();
        Assert.Equal(expectedEdges, graph.Edges);

        AssertNodes(expected.GetProperty("nodes"), graph);
    }

    private static void AssertNodes(JsonElement expectedNodes, NirGraph graph)
    {
        Assert.Equal(expectedNodes.EnumerateObject().Select(p => p.Name).Order(), graph.Nodes.Keys.Order());
        foreach (var property in expectedNodes.EnumerateObject())
            AssertNode(property.Value, graph.Nodes[property.Name]);
    }

    [Theory]
    [MemberData(nameof(MalformedFiles))]
    public void A_malformed_file_fails_naming_node_and_field(string name)
    {
        var expected = files.Expected(name);
        Assert.False(expected.GetProperty("ok").GetBoolean());

        var e = Assert.Throws<NirFormatException>(() => NirReader.Read(files.PathOf(name)));

        Assert.Equal(expected.GetProperty("node").GetString(), e.Node);
        Assert.Equal(expected.GetProperty("field").GetString(), e.Field);
        if (e.Node.Length > 0)
            Assert.Contains($"'{e.Node}'", e.Message);
        Assert.Contains(e.Field, e.Message);
        if (expected.TryGetProperty("message", out var message))
            Assert.Contains(message.GetString()!, e.Message);
    }

    [Fact]
    public void Float64_parameters_keep_their_doubles_beside_the_float32_values()
    {
        var lif = Assert.IsType<NirLIF>(NirReader.Read(files.PathOf("lif")).Nodes["x"]);
        Assert.All([lif.Tau, lif.R, lif.VLeak, lif.VThreshold, lif.VReset], t => Assert.True(t.WasFloat64));
        Assert.Equal((float)0.03, lif.Tau.Values[1]);
        Assert.Equal(0.02 + 0.01 * 1 + 1e-12, lif.Tau.Doubles![1]); // 1e-12 is below float32's resolution at 0.03
        Assert.NotEqual((double)lif.Tau.Values[1], lif.Tau.Doubles[1]);

        var affine = Assert.IsType<NirAffine>(NirReader.Read(files.PathOf("affine")).Nodes["x"]);
        Assert.False(affine.Weight.WasFloat64);
        Assert.Null(affine.Weight.Doubles);
    }

    [Fact]
    public void A_nested_graph_reads_as_a_stateful_subgraph_node()
    {
        var graph = NirReader.Read(files.PathOf("subgraph"));

        var rnn = Assert.IsType<NirSubgraph>(graph.Nodes["rnn"]);
        Assert.Equal("NIRGraph", rnn.Type);
        Assert.True(rnn.IsStateful);
        Assert.Contains(new NirEdge("fc", "rnn"), graph.Edges);
        Assert.Contains(new NirEdge("w_rec", "lif"), rnn.Graph.Edges);
        var lif = Assert.IsType<NirCubaLIF>(rnn.Graph.Nodes["lif"]);
        Assert.Equal(0.02 / 3, lif.TauMem.Doubles![0]);
    }

    [Fact]
    public void A_cycle_through_a_stateful_node_reads()
    {
        var graph = NirReader.Read(files.PathOf("recurrent"));
        Assert.Contains(new NirEdge("rec", "lif"), graph.Edges);
        Assert.True(graph.Nodes["lif"].IsStateful);
        Assert.False(graph.Nodes["rec"].IsStateful);
    }

    private static void AssertNode(JsonElement expected, NirNode actual)
    {
        Assert.Equal(expected.GetProperty("type").GetString(), actual.Type);
        if (actual is NirSubgraph subgraph)
        {
            var edges = expected.GetProperty("edges").EnumerateArray().Select(e => new NirEdge(e[0].GetString()!, e[1].GetString()!));
            Assert.Equal(edges, subgraph.Graph.Edges);
            AssertNodes(expected.GetProperty("nodes"), subgraph.Graph);
            return;
        }

        var (tensors, ints, strings) = Fields(actual);

        // Fields the file left out (v_reset) are in the manifest with the defaults the reader fills in.
        var expectedTensors = expected.GetProperty("fields");
        Assert.Equal(expectedTensors.EnumerateObject().Select(p => p.Name).Order(), tensors.Keys.Order());
        foreach (var field in expectedTensors.EnumerateObject())
        {
            var tensor = tensors[field.Name];
            var because = $"{actual.Name}.{field.Name}";
            Assert.True(field.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).SequenceEqual(tensor.Shape), because + " shape");
            Assert.True(field.Value.GetProperty("values").EnumerateArray().Select(v => (float)v.GetDouble()).SequenceEqual(tensor.Values), because + " values");
            Assert.True(field.Value.GetProperty("float64").GetBoolean() == tensor.WasFloat64, because + " float64");
            if (field.Value.TryGetProperty("doubles", out var doubles))
                Assert.True(doubles.EnumerateArray().Select(v => v.GetDouble()).SequenceEqual(tensor.Doubles!), because + " doubles");
            else
                Assert.Null(tensor.Doubles);
        }

        var expectedInts = expected.GetProperty("ints");
        Assert.Equal(expectedInts.EnumerateObject().Select(p => p.Name).Order(), ints.Keys.Order());
        foreach (var field in expectedInts.EnumerateObject())
        {
            var values = field.Value.EnumerateArray().Select(v => v.GetInt32()).ToArray();
            var got = ints[field.Name];
            // One number in the file stands for every spatial dimension.
            if (values.Length == 1 && got.Length > 1 && actual is NirConv or NirPool2d && field.Name is not ("groups" or "input_shape"))
                values = Enumerable.Repeat(values[0], got.Length).ToArray();
            Assert.True(values.SequenceEqual(got), $"{actual.Name}.{field.Name}: expected {string.Join(",", values)}, got {string.Join(",", got)}");
        }

        var expectedStrings = expected.GetProperty("strings");
        Assert.Equal(expectedStrings.EnumerateObject().Select(p => (p.Name, p.Value.GetString())).Order(), strings.Select(kv => (kv.Key, (string?)kv.Value)).Order());
    }

    /// <summary>A node's fields under their NIR dataset names.</summary>
    private static (Dictionary<string, NirTensor> Tensors, Dictionary<string, int[]> Ints, Dictionary<string, string> Strings) Fields(NirNode node)
    {
        var t = new Dictionary<string, NirTensor>();
        var i = new Dictionary<string, int[]>();
        var s = new Dictionary<string, string>();
        switch (node)
        {
            case NirInput n: i["shape"] = n.Shape; break;
            case NirOutput n: i["shape"] = n.Shape; break;
            case NirAffine n: t["weight"] = n.Weight; t["bias"] = n.Bias; break;
            case NirLinear n: t["weight"] = n.Weight; break;
            case NirScale n: t["scale"] = n.Scale; break;
            case NirConv n:
                t["weight"] = n.Weight;
                t["bias"] = n.Bias;
                i["stride"] = n.Stride;
                i["dilation"] = n.Dilation;
                i["groups"] = [n.Groups];
                if (n.PaddingMode is { } mode)
                {
                    s["padding"] = mode;
                    Assert.All(n.Padding, p => Assert.Equal(0, p));
                }
                else
                {
                    i["padding"] = n.Padding;
                }

                if (n.InputShape is { } shape)
                    i["input_shape"] = shape;
                break;
            case NirPool2d n: i["kernel_size"] = n.KernelSize; i["stride"] = n.Stride; i["padding"] = n.Padding; break;
            case NirFlatten n:
                i["start_dim"] = [n.StartDim];
                i["end_dim"] = [n.EndDim];
                if (n.InputShape is { } flattenShape)
                    i["input_type"] = flattenShape;
                break;
            case NirDelay n: t["delay"] = n.Delay; break;
            case NirThreshold n: t["threshold"] = n.Threshold; break;
            case NirI n: t["r"] = n.R; break;
            case NirLI n: t["tau"] = n.Tau; t["r"] = n.R; t["v_leak"] = n.VLeak; break;
            case NirIF n: t["r"] = n.R; t["v_threshold"] = n.VThreshold; t["v_reset"] = n.VReset; break;
            case NirLIF n:
                t["tau"] = n.Tau; t["r"] = n.R; t["v_leak"] = n.VLeak; t["v_threshold"] = n.VThreshold; t["v_reset"] = n.VReset;
                break;
            case NirCubaLI n:
                t["tau_syn"] = n.TauSyn; t["tau_mem"] = n.TauMem; t["r"] = n.R; t["v_leak"] = n.VLeak; t["w_in"] = n.WIn;
                break;
            case NirCubaLIF n:
                t["tau_syn"] = n.TauSyn; t["tau_mem"] = n.TauMem; t["r"] = n.R; t["v_leak"] = n.VLeak;
                t["v_threshold"] = n.VThreshold; t["v_reset"] = n.VReset; t["w_in"] = n.WIn;
                break;
            default:
                Assert.Fail($"no field map for {node.GetType().Name}");
                break;
        }

        return (t, i, s);
    }
}
