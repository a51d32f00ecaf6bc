using PureHDF;
using PureHDF.Filters;
using PureHDF.VOL.Native;

namespace Snn.Server.Nir;

/// <summary>
/// Writes a NIR graph in NIR's HDF5 layout, the one nir.write produces and <see cref="NirReader"/> and
/// nir.read read: a root string dataset <c>version</c>; a group <c>node</c> holding the graph (string
/// <c>type</c> = "NIRGraph", a group <c>nodes</c> with one group per node, <c>edges</c> an (n, 2) array of
/// strings, or an empty float64 array where there are none, as h5py stores an empty list). Each node group
/// has its string <c>type</c> and its fields under NIR's names: parameters as float32 arrays (float64 where
/// the tensor came from float64, so a file reads back bit for bit), gzip-compressed as nir.write does;
/// shapes, strides and paddings as int64 (Python ints become int64 scalars, tuples int64 arrays); strings
/// (a Conv's "same"/"valid" padding) as variable-length strings. A subgraph is a node group laid out as a graph.
/// </summary>
internal static class NirWriter
{
    /// <summary>The NIR version written where the graph states none: the NIR release whose layout this writes.</summary>
    public const string DefaultVersion = "1.0.7";

    public static void Write(NirGraph graph, Stream stream)
    {
        var file = new H5File
        {
            ["version"] = graph.Version.Length > 0 ? graph.Version : DefaultVersion,
            ["node"] = GraphGroup(graph),
        };
        file.Write(stream);
    }

    private static H5Group GraphGroup(NirGraph graph)
    {
        var nodes = new H5Group();
        foreach (var (name, node) in graph.Nodes)
            nodes[name] = NodeGroup(node);

        object edges;
        if (graph.Edges.Count == 0)
        {
            edges = Array.Empty<double>();
        }
        else
        {
            var names = new string[graph.Edges.Count * 2];
            for (var i = 0; i < graph.Edges.Count; i++)
                (names[2 * i], names[2 * i + 1]) = (graph.Edges[i].Source, graph.Edges[i].Target);
            edges = new H5Dataset(names, fileDims: [(ulong)graph.Edges.Count, 2]);
        }

        return new H5Group { ["type"] = "NIRGraph", ["nodes"] = nodes, ["edges"] = edges };
    }

    private static H5Group NodeGroup(NirNode node)
    {
        if (node is NirSubgraph subgraph)
            return GraphGroup(subgraph.Graph);

        var g = new H5Group { ["type"] = node.Type };
        switch (node)
        {
            case NirInput input:
                g["shape"] = IntArray(input.Shape);
                break;
            case NirOutput output:
                g["shape"] = IntArray(output.Shape);
                break;
            case NirAffine affine:
                g["weight"] = Tensor(affine.Weight);
                g["bias"] = Tensor(affine.Bias);
                break;
            case NirLinear linear:
                g["weight"] = Tensor(linear.Weight);
                break;
            case NirScale scale:
                g["scale"] = Tensor(scale.Scale);
                break;
            case NirConv conv:
                WriteConv(g, conv);
                break;
            case NirPool2d pool:
                g["kernel_size"] = IntArray(pool.KernelSize);
                g["stride"] = IntArray(pool.Stride);
                g["padding"] = IntArray(pool.Padding);
                break;
            case NirFlatten flatten:
                g["start_dim"] = (long)flatten.StartDim;
                g["end_dim"] = (long)flatten.EndDim;
                if (flatten.InputShape is { } shape)
                    g["input_type"] = IntArray(shape);
                break;
            case NirDelay or NirThreshold or NirI or NirLI or NirIF or NirLIF or NirCubaLI or NirCubaLIF:
                foreach (var (field, tensor) in NirParameters.Of(node))
                    g[field] = Tensor(tensor);
                break;
            default:
                throw new ArgumentException($"NIR node '{node.Name}' is a {node.GetType().Name}, which the writer has no layout for", nameof(node));
        }

        return g;
    }

    /// <summary>
    /// Conv1d's stride, padding, dilation and input_shape are Python ints in NIR (int64 scalars); Conv2d's are
    /// pairs (int64 arrays of 2). groups is an int either way; a padding mode is a string.
    /// </summary>
    private static void WriteConv(H5Group g, NirConv conv)
    {
        g["weight"] = Tensor(conv.Weight);
        g["bias"] = Tensor(conv.Bias);
        g["stride"] = PerDimension(conv.Stride, conv.SpatialDims);
        g["padding"] = conv.PaddingMode is { } mode ? mode : PerDimension(conv.Padding, conv.SpatialDims);
        g["dilation"] = PerDimension(conv.Dilation, conv.SpatialDims);
        g["groups"] = (long)conv.Groups;
        if (conv.InputShape is { } shape)
            g["input_shape"] = PerDimension(shape, conv.SpatialDims);
    }

    private static object PerDimension(int[] values, int spatialDims) =>
        spatialDims == 1 && values.Length == 1 ? (long)values[0] : IntArray(values);

    private static H5Dataset IntArray(int[] values) => Compressed(Array.ConvertAll(values, v => (long)v), [values.Length]);

    /// <summary>A parameter in the precision the file gave it: float64 where the tensor holds doubles.</summary>
    private static object Tensor(NirTensor tensor)
    {
        if (tensor.Rank == 0)
            return tensor.Doubles is { } d ? d[0] : tensor.Values[0];
        return tensor.Doubles is { } doubles ? Compressed(doubles, tensor.Shape) : Compressed(tensor.Values, tensor.Shape);
    }

    /// <summary>
    /// An array dataset, gzip-compressed in one chunk as nir.write's default compression="gzip" stores it
    /// (h5py chunks it as it likes; one chunk reads the same). An empty array cannot be chunked and is stored plain.
    /// </summary>
    private static H5Dataset Compressed<T>(T[] data, int[] shape)
    {
        var dims = Array.ConvertAll(shape, d => (ulong)d);
        if (data.Length == 0)
            return new H5Dataset(data, fileDims: dims);
        return new H5Dataset(data, chunks: Array.ConvertAll(shape, d => (uint)d), fileDims: dims,
            datasetCreation: new H5DatasetCreation(Filters: [new H5Filter(DeflateFilter.Id)]));
    }
}
