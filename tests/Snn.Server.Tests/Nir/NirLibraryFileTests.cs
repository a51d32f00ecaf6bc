using Snn.Server.Nir;

namespace Snn.Server.Tests.Nir;

/// <summary>
/// The reader against NIR files that norse, sinabs and snnTorch wrote themselves (tests/data/nir, from
/// the NIR project's paper artefacts): their layout, not only ours, reads into the expected graph.
/// </summary>
public sealed class NirLibraryFileTests
{
    private static NirGraph Read(string name) => NirReader.Read(Path.Combine(AppContext.BaseDirectory, "data", "nir", name));

    [Fact]
    public void Norse_lif_reads_with_v_reset_defaulted_to_zero()
    {
        var graph = Read("lif_norse.nir");

        Assert.Equal("0.1.1", graph.Version);
        Assert.Equal([new NirEdge("input", "0"), new NirEdge("0", "1"), new NirEdge("1", "output")], graph.Edges);
        var affine = Assert.IsType<NirAffine>(graph.Nodes["0"]);
        Assert.Equal([1, 1], affine.Weight.Shape);
        var lif = Assert.IsType<NirLIF>(graph.Nodes["1"]);
        Assert.Equal([0.0025f], lif.Tau.Values);
        Assert.False(lif.Tau.WasFloat64);
        Assert.Equal([0f], lif.VReset.Values);
        Assert.Equal([1], Assert.IsType<NirInput>(graph.Nodes["input"]).Shape);
    }

    [Fact]
    public void Sinabs_cnn_reads_its_convolutions_pools_and_flatten()
    {
        var graph = Read("cnn_sinabs.nir");

        Assert.Equal(15, graph.Nodes.Count);
        Assert.Equal(14, graph.Edges.Count);
        var counts = graph.Nodes.Values.GroupBy(n => n.Type).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(3, counts["Conv2d"]);
        Assert.Equal(5, counts["IF"]);
        Assert.Equal(2, counts["SumPool2d"]);
        Assert.Equal(1, counts["Flatten"]);
        Assert.Equal(2, counts["Affine"]);

        var conv = Assert.IsType<NirConv>(graph.Nodes["0"]);
        Assert.Equal(2, conv.SpatialDims);
        Assert.Equal([16, 2, 5, 5], conv.Weight.Shape);
        Assert.Equal([16], conv.Bias.Shape);
        Assert.Equal(2, conv.Stride.Length);
        Assert.NotNull(conv.InputShape);
        var neuron = Assert.IsType<NirIF>(graph.Nodes["1"]);
        Assert.Equal([16, 16, 16], neuron.VThreshold.Shape);
    }

    [Fact]
    public void Snntorch_recurrent_cuba_lif_reads_with_its_cycle()
    {
        var graph = Read("braille_noDelay_noBias_subtract.nir");

        Assert.Contains(new NirEdge("lif1.lif", "lif1.w_rec"), graph.Edges);
        Assert.Contains(new NirEdge("lif1.w_rec", "lif1.lif"), graph.Edges);
        var lif = Assert.IsType<NirCubaLIF>(graph.Nodes["lif1.lif"]);
        Assert.Equal([40], lif.TauMem.Shape);
        Assert.Equal([40], lif.WIn.Shape);
        Assert.Equal([40, 12], Assert.IsType<NirLinear>(graph.Nodes["fc1"]).Weight.Shape);
        Assert.Equal([40, 40], Assert.IsType<NirLinear>(graph.Nodes["lif1.w_rec"]).Weight.Shape);
    }

    /// <summary>
    /// snnTorch's nested recurrent layer reads as a subgraph. This export names its inner CubaLIF "lif1" while
    /// its inner edges say "lif" (nir.read's type check fails on it); snnTorch's import_from_nir finds a
    /// recurrent subgraph's parts by type and never looks at those edges, and so does the reader, saying so.
    /// </summary>
    [Fact]
    public void Snntorch_nested_recurrent_layer_reads_as_a_subgraph_whose_edges_follow_its_node_types()
    {
        var graph = Read("braille_noDelay_bias_zero_subgraph.nir");

        Assert.Equal("0.2.0", graph.Version);
        Assert.Equal([new NirEdge("input", "fc1"), new NirEdge("fc1", "lif1"), new NirEdge("lif1", "fc2"), new NirEdge("fc2", "lif2"), new NirEdge("lif2", "output")],
            graph.Edges);
        var sub = Assert.IsType<NirSubgraph>(graph.Nodes["lif1"]);
        Assert.True(sub.IsStateful);
        Assert.Equal(["input", "lif1", "lin", "output"], sub.Graph.Nodes.Keys.Order());
        Assert.Equal([new NirEdge("input", "lif1"), new NirEdge("lif1", "lin"), new NirEdge("lin", "lif1"), new NirEdge("lif1", "output")], sub.Graph.Edges);
        var lif = Assert.IsType<NirCubaLIF>(sub.Graph.Nodes["lif1"]);
        Assert.Equal([38], lif.TauMem.Shape);
        Assert.True(lif.TauMem.WasFloat64);
        Assert.Equal(lif.TauMem.Values, lif.TauMem.Doubles!.Select(d => (float)d));
        Assert.Equal([0.0], lif.VReset.Doubles!.Distinct()); // no v_reset in the file: zeros, float64 like v_threshold
        Assert.Equal([38, 38], Assert.IsType<NirAffine>(sub.Graph.Nodes["lin"]).Weight.Shape);
        Assert.Equal([38], Assert.IsType<NirInput>(sub.Graph.Nodes["input"]).Shape);
        var note = Assert.Single(graph.Notes);
        Assert.Contains("'lif1'", note);
        Assert.Contains("name 'lif', which is none of its nodes", note);
    }
}
