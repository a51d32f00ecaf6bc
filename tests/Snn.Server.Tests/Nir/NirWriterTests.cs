using System.Text.Json;
using Snn.Server.Nir;

namespace Snn.Server.Tests.Nir;

/// <summary>
/// The NIR writer: a graph holding every node type (a nested subgraph and float64 parameters included)
/// reads back through <see cref="NirReader"/> field for field, and h5py reads the file the way nir.read
/// does (read_nir_file.py), finding each field under NIR's name with NIR's dtype, shape and values.
/// </summary>
public sealed class NirWriterTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "snn-nirw-" + Guid.NewGuid().ToString("N"));

    public NirWriterTests() => Directory.CreateDirectory(directory);

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static NirTensor F(int[] shape, double start, double step = 0.25)
    {
        var n = shape.Aggregate(1, (a, b) => a * b);
        return new NirTensor(Enumerable.Range(0, n).Select(i => (float)(start + step * i)).ToArray(), shape, false);
    }

    /// <summary>float64 values float32 cannot hold (a third of a time constant), so a lossy path shows.</summary>
    private static NirTensor D(int n, double start) =>
        new(Enumerable.Range(0, n).Select(i => (start + 0.01 * i) / 3).ToArray(), [n]);

    /// <summary>Every node type in one chain, with a recurrent subgraph and a subgraph without edges.</summary>
    private static NirGraph EveryNodeType()
    {
        var rnn = new NirGraph("1.0.7", Nodes(
            new NirInput("input", [3]),
            new NirCubaLIF("lif", D(3, 0.005), D(3, 0.02), D(3, 1), new NirTensor(new double[3], [3]), D(3, 1), new NirTensor(new double[3], [3]), D(3, 2)),
            new NirLinear("w_rec", F([3, 3], -0.5, 0.125)),
            new NirOutput("output", [3])),
            [new("input", "lif"), new("lif", "w_rec"), new("w_rec", "lif"), new("lif", "output")]);
        var island = new NirGraph("1.0.7", Nodes(new NirInput("input", [1]), new NirOutput("output", [1])), []);

        NirNode[] chain =
        [
            new NirInput("input", [4]),
            new NirAffine("affine", F([3, 4], 0.5), F([3], -1)),
            new NirLinear("linear", F([2, 5], -0.75)),
            new NirScale("scale", F([4], 2, -0.5)),
            new NirConv("conv1d", 1, F([4, 2, 3], 0.5), F([4], 0.5), [2], [0], "same", [1], 1, [16]),
            new NirConv("conv2d", 2, F([6, 1, 3, 3], 0.5), F([6], 0.1), [1, 2], [1, 0], null, [1, 1], 2, [8, 8]),
            new NirPool2d("sumpool", false, [2, 2], [2, 2], [0, 1]),
            new NirPool2d("avgpool", true, [3, 3], [1, 1], [1, 1]),
            new NirFlatten("flatten", 0, -1, [2, 3, 4]),
            new NirFlatten("flatten_untyped", 1, -1, null),
            new NirDelay("delay", F([3], 0.001, 0.002)),
            new NirThreshold("threshold", F([3], 1)),
            new NirI("i", F([3], 1.5)),
            new NirLI("li", F([3], 0.01, 0.005), F([3], 1, 0), F([3], 0, 0.1)),
            new NirIF("if", F([2], 1), F([2], 1, 0.5), F([2], -0.5, 0)),
            new NirLIF("lif", D(4, 0.02), D(4, 1), D(4, 0.1), D(4, 1), D(4, 0)),
            new NirCubaLI("cubali", F([3], 0.005), F([3], 0.02), F([3], 1, 0), F([3], 0, 0), new NirTensor([1.0], [])),
            new NirCubaLIF("cubalif", F([2], 0.005), F([2], 0.02), F([2], 2), F([2], 0, 0), F([2], 1), F([2], 0, 0), F([2], 0.5)),
            new NirSubgraph("rnn", rnn),
            new NirSubgraph("island", island),
            new NirOutput("output", [3]),
        ];
        var edges = chain.Zip(chain.Skip(1), (a, b) => new NirEdge(a.Name, b.Name)).ToList();
        return new NirGraph("1.0.7", Nodes(chain), edges);
    }

    private static Dictionary<string, NirNode> Nodes(params NirNode[] nodes) => nodes.ToDictionary(n => n.Name);

    private string WriteFile(NirGraph graph)
    {
        var path = Path.Combine(directory, "graph.nir");
        using (var stream = File.Create(path))
            NirWriter.Write(graph, stream);
        return path;
    }

    [Fact]
    public void Every_node_type_reads_back_field_for_field()
    {
        var graph = EveryNodeType();
        NirValidator.Validate(graph);

        var read = NirReader.Read(WriteFile(graph));

        Assert.Equal(Canonical(graph), Canonical(read));
        var types = read.Nodes.Values.Select(n => n.Type).ToHashSet();
        Assert.Equal(NirReader.SupportedTypes.Split(", ").Order(), types.Order());
    }

    [Fact]
    public void Float64_parameters_read_back_bit_for_bit()
    {
        var graph = EveryNodeType();

        var lif = Assert.IsType<NirLIF>(NirReader.Read(WriteFile(graph)).Nodes["lif"]);

        var written = ((NirLIF)graph.Nodes["lif"]).Tau.Doubles!;
        Assert.NotEqual(written[0], (double)(float)written[0]);
        Assert.Equal(written, lif.Tau.Doubles);
    }

    [Fact]
    public void An_exported_network_written_and_read_back_imports_as_the_same_network()
    {
        var graph = EveryNodeType();
        var lif = new NirLIF("lif", D(3, 0.02), D(3, 1), D(3, 0.1), D(3, 1), D(3, 0));
        var chain = new NirGraph("1.0.7", Nodes(graph.Nodes["input"], graph.Nodes["affine"], lif, graph.Nodes["rnn"],
            new NirOutput("output", [3])), [new("input", "affine"), new("affine", "lif"), new("lif", "rnn"), new("rnn", "output")]);
        var options = new NirImportOptions("net", 0.001, NirFlavor.Generic, Strict: false);
        var first = NirImporter.Import(chain, options).Spec;

        var exported = NirExporter.Export(first, []);
        var read = NirReader.Read(WriteFile(exported));

        Assert.Equal(Canonical(exported), Canonical(read));
        Assert.Equal(first.ToString(), NirImporter.Import(read, options).Spec.ToString());
    }

    [Fact]
    public void A_graph_without_a_version_is_written_with_the_layouts_version()
    {
        var graph = new NirGraph("", Nodes(new NirInput("input", [2]), new NirOutput("output", [2])), [new("input", "output")]);

        Assert.Equal(NirWriter.DefaultVersion, NirReader.Read(WriteFile(graph)).Version);
    }

    [Fact]
    public void H5py_reads_the_file_as_nir_read_does()
    {
        var graph = EveryNodeType();

        using var json = JsonDocument.Parse(NirPython.Run("read_nir_file.py", WriteFile(graph)));

        Assert.Equal("1.0.7", json.RootElement.GetProperty("version").GetString());
        AssertGraph(graph, json.RootElement.GetProperty("graph"), "");
    }

    private static void AssertGraph(NirGraph graph, JsonElement read, string path)
    {
        Assert.Equal("NIRGraph", read.GetProperty("type").GetString());
        var edges = read.GetProperty("edges").EnumerateArray().Select(e => new NirEdge(e[0].GetString()!, e[1].GetString()!));
        Assert.Equal(graph.Edges, edges);
        var nodes = read.GetProperty("nodes");
        Assert.Equal(graph.Nodes.Keys.Order(), nodes.EnumerateObject().Select(p => p.Name).Order());
        foreach (var (name, node) in graph.Nodes)
        {
            var got = nodes.GetProperty(name);
            Assert.Equal(node.Type, got.GetProperty("type").GetString());
            if (node is NirSubgraph subgraph)
            {
                AssertGraph(subgraph.Graph, got, path + name + "/");
                continue;
            }

            var expected = Expected(node);
            var fields = got.GetProperty("fields");
            Assert.Equal(expected.Keys.Order(), fields.EnumerateObject().Select(p => p.Name).Order());
            foreach (var (field, want) in expected)
            {
                var stored = Describe(fields.GetProperty(field));
                Assert.True(want == stored, $"{path}{name}.{field}: wrote {want}, h5py read {stored}");
            }
        }
    }

    /// <summary>A dataset as read_nir_file.py prints it, as one comparable line.</summary>
    private static string Describe(JsonElement d) =>
        d.GetProperty("dtype").GetString() == "string"
            ? "string " + d.GetProperty("value").GetString()
            : $"{d.GetProperty("dtype").GetString()} [{string.Join(",", d.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()))}] " +
              string.Join(",", d.GetProperty("values").EnumerateArray().Select(x => x.GetDouble().ToString("R")));

    private static string Tensor(NirTensor t) =>
        $"{(t.Doubles is null ? "float32" : "float64")} [{string.Join(",", t.Shape)}] " +
        string.Join(",", t.Doubles is { } d ? d.Select(x => x.ToString("R")) : t.Values.Select(x => ((double)x).ToString("R")));

    private static string Ints(int[] values, bool scalar = false) =>
        $"int64 [{(scalar ? "" : values.Length.ToString())}] {string.Join(",", values)}";

    /// <summary>What nir.write stores for each field (nir/ir/*.py's dataclass fields, to_dict, then serialization.write).</summary>
    private static Dictionary<string, string> Expected(NirNode node)
    {
        var e = new Dictionary<string, string>();
        switch (node)
        {
            case NirInput n: e["shape"] = Ints(n.Shape); break;
            case NirOutput n: e["shape"] = Ints(n.Shape); break;
            case NirAffine n: e["weight"] = Tensor(n.Weight); e["bias"] = Tensor(n.Bias); break;
            case NirLinear n: e["weight"] = Tensor(n.Weight); break;
            case NirScale n: e["scale"] = Tensor(n.Scale); break;
            case NirConv n:
                // Conv1d's stride, padding, dilation and input_shape are Python ints (int64 scalars); Conv2d's are pairs.
                var one = n.SpatialDims == 1;
                e["weight"] = Tensor(n.Weight);
                e["bias"] = Tensor(n.Bias);
                e["stride"] = Ints(n.Stride, one);
                e["padding"] = n.PaddingMode is { } mode ? "string " + mode : Ints(n.Padding, one);
                e["dilation"] = Ints(n.Dilation, one);
                e["groups"] = Ints([n.Groups], scalar: true);
                if (n.InputShape is { } shape)
                    e["input_shape"] = Ints(shape, one);
                break;
            case NirPool2d n: e["kernel_size"] = Ints(n.KernelSize); e["stride"] = Ints(n.Stride); e["padding"] = Ints(n.Padding); break;
            case NirFlatten n:
                e["start_dim"] = Ints([n.StartDim], scalar: true);
                e["end_dim"] = Ints([n.EndDim], scalar: true);
                if (n.InputShape is { } inputType)
                    e["input_type"] = Ints(inputType);
                break;
            case NirDelay n: e["delay"] = Tensor(n.Delay); break;
            case NirThreshold n: e["threshold"] = Tensor(n.Threshold); break;
            case NirI n: e["r"] = Tensor(n.R); break;
            case NirLI n: e["tau"] = Tensor(n.Tau); e["r"] = Tensor(n.R); e["v_leak"] = Tensor(n.VLeak); break;
            case NirIF n: e["r"] = Tensor(n.R); e["v_threshold"] = Tensor(n.VThreshold); e["v_reset"] = Tensor(n.VReset); break;
            case NirLIF n:
                e["tau"] = Tensor(n.Tau); e["r"] = Tensor(n.R); e["v_leak"] = Tensor(n.VLeak);
                e["v_threshold"] = Tensor(n.VThreshold); e["v_reset"] = Tensor(n.VReset);
                break;
            case NirCubaLI n:
                e["tau_syn"] = Tensor(n.TauSyn); e["tau_mem"] = Tensor(n.TauMem); e["r"] = Tensor(n.R);
                e["v_leak"] = Tensor(n.VLeak); e["w_in"] = Tensor(n.WIn);
                break;
            case NirCubaLIF n:
                e["tau_syn"] = Tensor(n.TauSyn); e["tau_mem"] = Tensor(n.TauMem); e["r"] = Tensor(n.R); e["v_leak"] = Tensor(n.VLeak);
                e["v_threshold"] = Tensor(n.VThreshold); e["v_reset"] = Tensor(n.VReset); e["w_in"] = Tensor(n.WIn);
                break;
            default:
                Assert.Fail($"no expectation for {node.GetType().Name}");
                break;
        }

        return e;
    }

    /// <summary>A graph as text: every node's record as JSON (doubles and floats round-trip exactly), subgraphs nested.</summary>
    private static string Canonical(NirGraph graph) =>
        $"version {graph.Version}; edges {string.Join(" ", graph.Edges)}; nodes " + string.Join("; ", graph.Nodes.Select(kv =>
            kv.Key + "=" + (kv.Value is NirSubgraph s ? $"{s.Name} {{{Canonical(s.Graph)}}}" : JsonSerializer.Serialize(kv.Value, kv.Value.GetType()))));
}
