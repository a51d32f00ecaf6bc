using PureHDF;
using PureHDF.VOL.Native;

namespace Snn.Server.Nir;

/// <summary>
/// Reads a NIR file (HDF5, as the NIR project's <c>nir.write</c> lays it out) into a <see cref="NirGraph"/>
/// with PureHDF, then validates it with <see cref="NirValidator"/>. The layout: a root group <c>node</c>
/// holding the graph (<c>type</c> = "NIRGraph", a group <c>nodes</c> with one group per node, and
/// <c>edges</c>, an (n, 2) dataset of (source, target) strings); each node group has a string dataset
/// <c>type</c> and one dataset per parameter. A root dataset <c>version</c> names the NIR version.
/// Every fault is a <see cref="NirFormatException"/> naming the node and field.
/// </summary>
internal static class NirReader
{
    public static NirGraph Read(string path)
    {
        using var stream = new MemoryStream(File.ReadAllBytes(path), writable: false);
        return Read(stream);
    }

    /// <summary>Reads a whole file held in memory (a <see cref="MemoryStream"/>; another stream is copied into one).</summary>
    public static NirGraph Read(Stream stream)
    {
        if (stream is not MemoryStream memory)
        {
            memory = new MemoryStream();
            stream.CopyTo(memory);
            memory.Position = 0;
        }

        Hdf5Bounds.Check(memory.TryGetBuffer(out var buffer) ? buffer.AsSpan((int)memory.Position) : memory.ToArray().AsSpan((int)memory.Position));
        fileBytes = memory.Length - memory.Position;
        return ReadHdf5(memory);
    }

    /// <summary>The size of the file being read on this thread, which bounds what its datasets may claim (see <see cref="Load"/>).</summary>
    [ThreadStatic]
    private static long fileBytes;

    /// <summary>
    /// How many times the file's size a chunked (compressed) dataset may hold once read: deflate packs real
    /// weights a few times, a constant array up to about a thousand; a damaged dimension claims far more.
    /// </summary>
    public const int MaxCompressionRatio = 64;

    private static NirGraph ReadHdf5(Stream stream)
    {
        NativeFile file;
        try
        {
            file = H5File.Open(stream, leaveOpen: true);
        }
        catch (Exception e) when (e is not NirFormatException)
        {
            throw new NirFormatException("", "file", $"not an HDF5 file ({e.Message})");
        }

        using (file)
        {
            try
            {
                return ReadGraph(file);
            }
            catch (Exception e) when (e is not NirFormatException)
            {
                // PureHDF's own faults (a truncated file, an unsupported filter) say what broke but not where.
                throw new NirFormatException("", "file", $"the HDF5 content cannot be read ({e.Message})");
            }
        }
    }

    /// <summary>
    /// How deep graphs may nest (a NIRGraph node inside a NIRGraph counts one level). snnTorch nests one level
    /// for a recurrent layer; the limit bounds the recursion a crafted file can cause.
    /// </summary>
    public const int MaxNesting = 8;

    private static NirGraph ReadGraph(NativeFile file)
    {
        var version = file.LinkExists("version") ? ReadString(file, "", "version") : "";
        if (!file.LinkExists("node") || file.Get("node") is not IH5Group root)
            throw new NirFormatException("", "node", "the file has no group 'node' (the graph); is this a NIR file written by nir.write?");

        var rootType = ReadString(root, "", "node/type");
        if (rootType != "NIRGraph")
            throw new NirFormatException("", "node/type", $"the root node is a '{rootType}', expected 'NIRGraph'");

        var notes = new List<string>();
        var graph = ReadGraphGroup(root, version, "", 0, notes);
        graph = new NirGraph(graph.Version, graph.Nodes, graph.Edges, notes);
        NirValidator.Validate(graph);
        return graph;
    }

    /// <summary>
    /// The nodes and edges of a graph group: the root's, or a nested NIRGraph node's, whose faults name the
    /// node by its path ("lif1/w_rec"). <paramref name="prefix"/> is that path up to the graph ("" or "lif1/").
    /// </summary>
    private static NirGraph ReadGraphGroup(IH5Group group, string version, string prefix, int depth, List<string> notes)
    {
        var where = prefix.TrimEnd('/');
        if (!group.LinkExists("nodes") || group.Get("nodes") is not IH5Group nodesGroup)
            throw new NirFormatException(where, "nodes", "the graph has no group 'nodes'");

        var nodes = new Dictionary<string, NirNode>(StringComparer.Ordinal);
        foreach (var child in nodesGroup.Children())
        {
            if (child is not IH5Group childGroup)
                throw new NirFormatException(prefix + child.Name, "", "a node must be an HDF5 group of datasets");
            nodes.Add(child.Name, ReadNode(child.Name, prefix, childGroup, version, depth, notes));
        }

        var edges = ReadEdges(group, where);
        if (depth > 0 && edges.FirstOrDefault(e => !nodes.ContainsKey(e.Source) || !nodes.ContainsKey(e.Target)) is { Source: not null } dangling
            && RecurrentLayerEdges(nodes) is { } rebuilt)
        {
            var missing = nodes.ContainsKey(dangling.Source) ? dangling.Target : dangling.Source;
            notes.Add($"NIR node '{where}': its edges name '{missing}', which is none of its nodes; read as snnTorch's import_from_nir reads a "
                + $"recurrent subgraph, by node type: {string.Join(", ", rebuilt.Select(e => $"{e.Source} -> {e.Target}"))}");
            edges = rebuilt;
        }

        return new NirGraph(version, nodes, edges);
    }

    /// <summary>
    /// The edges of a recurrent layer as snnTorch nests it (its import_from_nir finds the parts by type and
    /// ignores the subgraph's edges; some of its exports name nodes the subgraph lacks): exactly one Input,
    /// one Output, one LIF or CubaLIF and one Affine or Linear, joined input -> lif -> w -> lif -> output.
    /// Null for any other subgraph.
    /// </summary>
    private static List<NirEdge>? RecurrentLayerEdges(Dictionary<string, NirNode> nodes)
    {
        if (nodes.Count != 4)
            return null;
        var input = nodes.Values.OfType<NirInput>().ToList();
        var output = nodes.Values.OfType<NirOutput>().ToList();
        var neuron = nodes.Values.Where(n => n is NirLIF or NirCubaLIF).ToList();
        var weight = nodes.Values.Where(n => n is NirAffine or NirLinear).ToList();
        if (input.Count != 1 || output.Count != 1 || neuron.Count != 1 || weight.Count != 1)
            return null;
        string i = input[0].Name, o = output[0].Name, n = neuron[0].Name, w = weight[0].Name;
        return [new(i, n), new(n, w), new(w, n), new(n, o)];
    }

    private static List<NirEdge> ReadEdges(IH5Group root, string where)
    {
        var dataset = Dataset(root, where, "edges");
        var dims = dataset.Space.Dimensions;
        if (dims.Length > 0 && dims.Contains(0UL))
            return []; // nir.write stores an empty edge list as an empty float array
        if (dims.Length != 2 || dims[1] != 2 || dataset.Type.Class is not (H5DataTypeClass.String or H5DataTypeClass.VariableLength))
            throw new NirFormatException(where, "edges", $"expected an (n, 2) array of node names, found shape [{string.Join(", ", dims)}] of {dataset.Type.Class}");

        var names = Load<string[]>(dataset, where, "edges");
        var edges = new List<NirEdge>(names.Length / 2);
        for (var i = 0; i < names.Length; i += 2)
            edges.Add(new NirEdge(names[i], names[i + 1]));
        return edges;
    }

    private static NirNode ReadNode(string name, string prefix, IH5Group g, string version, int depth, List<string> notes)
    {
        // Faults name the node by its path from the root graph; the record keeps the name its graph gives it.
        var where = prefix + name;
        var type = ReadString(g, where, "type");
        return type switch
        {
            "Input" => new NirInput(name, Ints(g, where, "shape")),
            "Output" => new NirOutput(name, Ints(g, where, "shape")),
            "Affine" => new NirAffine(name, Tensor(g, where, "weight"), Tensor(g, where, "bias")),
            "Linear" => new NirLinear(name, Tensor(g, where, "weight")),
            "Scale" => new NirScale(name, Tensor(g, where, "scale")),
            "Conv1d" => Conv(g, name, where, 1),
            "Conv2d" => Conv(g, name, where, 2),
            "SumPool2d" or "AvgPool2d" => new NirPool2d(name, type == "AvgPool2d",
                PerDimension(g, where, "kernel_size", 2), PerDimension(g, where, "stride", 2), PerDimension(g, where, "padding", 2)),
            "Flatten" => new NirFlatten(name, Int(g, where, "start_dim"), Int(g, where, "end_dim"),
                g.LinkExists("input_type") ? Ints(g, where, "input_type") : null),
            "Delay" => new NirDelay(name, Tensor(g, where, "delay")),
            "Threshold" => new NirThreshold(name, Tensor(g, where, "threshold")),
            "I" => new NirI(name, Tensor(g, where, "r")),
            "LI" => new NirLI(name, Tensor(g, where, "tau"), Tensor(g, where, "r"), Tensor(g, where, "v_leak")),
            "IF" => new NirIF(name, Tensor(g, where, "r"), Tensor(g, where, "v_threshold"), VReset(g, where)),
            "LIF" => new NirLIF(name, Tensor(g, where, "tau"), Tensor(g, where, "r"), Tensor(g, where, "v_leak"),
                Tensor(g, where, "v_threshold"), VReset(g, where)),
            "CubaLI" => new NirCubaLI(name, Tensor(g, where, "tau_syn"), Tensor(g, where, "tau_mem"), Tensor(g, where, "r"),
                Tensor(g, where, "v_leak"), Tensor(g, where, "w_in")),
            "CubaLIF" => new NirCubaLIF(name, Tensor(g, where, "tau_syn"), Tensor(g, where, "tau_mem"), Tensor(g, where, "r"),
                Tensor(g, where, "v_leak"), Tensor(g, where, "v_threshold"), VReset(g, where), Tensor(g, where, "w_in")),
            "NIRGraph" => depth < MaxNesting
                ? new NirSubgraph(name, ReadGraphGroup(g, version, where + "/", depth + 1, notes))
                : throw new NirFormatException(where, "type", $"graphs nest more than {MaxNesting} deep; flatten the inner graphs before export"),
            _ => throw new NirFormatException(where, "type", $"unknown node type '{type}'; supported: {SupportedTypes}"),
        };
    }

    public const string SupportedTypes =
        "Input, Output, Affine, Linear, Scale, Conv1d, Conv2d, SumPool2d, AvgPool2d, Flatten, Delay, Threshold, I, LI, IF, LIF, CubaLI, CubaLIF, NIRGraph";

    private static NirConv Conv(IH5Group g, string name, string where, int dims)
    {
        int[] padding;
        string? mode = null;
        var paddingSet = Dataset(g, where, "padding");
        if (paddingSet.Type.Class is H5DataTypeClass.String or H5DataTypeClass.VariableLength)
        {
            mode = ReadString(g, where, "padding");
            if (mode is not ("same" or "valid"))
                throw new NirFormatException(where, "padding", $"'{mode}' is not a padding; use 'same', 'valid' or numbers");
            padding = new int[dims];
        }
        else
        {
            padding = PerDimension(g, where, "padding", dims);
        }

        return new NirConv(name, dims, Tensor(g, where, "weight"), Tensor(g, where, "bias"), PerDimension(g, where, "stride", dims), padding, mode,
            PerDimension(g, where, "dilation", dims), Int(g, where, "groups"), g.LinkExists("input_shape") ? Ints(g, where, "input_shape") : null);
    }

    /// <summary>v_reset, or zeros shaped and typed like v_threshold where the file has none (as nir.read's np.zeros_like does).</summary>
    private static NirTensor VReset(IH5Group g, string name)
    {
        if (g.LinkExists("v_reset"))
            return Tensor(g, name, "v_reset");
        var threshold = Tensor(g, name, "v_threshold");
        return threshold.WasFloat64
            ? new NirTensor(new double[threshold.Values.Length], threshold.Shape)
            : new NirTensor(new float[threshold.Values.Length], threshold.Shape, false);
    }

    /// <summary>
    /// The most elements one dataset may hold (2^26: 256 MiB as float32). A compressed dataset can claim far
    /// more than the file's size; this bounds what a file can make the server allocate.
    /// </summary>
    public const ulong MaxElementsPerDataset = 1UL << 26;

    /// <summary>Reads a dataset after checking its size; PureHDF's faults are reported with the node and field.</summary>
    private static T Load<T>(IH5Dataset dataset, string node, string field)
    {
        UInt128 elements = 1;
        foreach (var d in dataset.Space.Dimensions)
            elements = UInt128.Min(elements * d, (UInt128)MaxElementsPerDataset + 1);
        if (elements > MaxElementsPerDataset)
            throw new NirFormatException(node, field, $"holds more than {MaxElementsPerDataset} elements, the most one dataset may hold");
        // PureHDF allocates what the dimensions claim and then reads (or fills) it, chunk by chunk: a damaged
        // dimension in a small file must not cost gigabytes or minutes. Stored as is, the data lies in the file.
        var bytes = elements * (ulong)dataset.Type.Size;
        var chunked = dataset.Layout.Class == H5DataLayoutClass.Chunked;
        var room = chunked ? (UInt128)(ulong)fileBytes * MaxCompressionRatio + 65536 : (ulong)fileBytes;
        if (bytes > room)
        {
            throw new NirFormatException(node, field, chunked
                ? $"claims {bytes} bytes, more than {MaxCompressionRatio} times the file's {fileBytes}; its dimensions are damaged"
                : $"claims {bytes} bytes, more than the whole file's {fileBytes}; its dimensions are damaged or the file is truncated");
        }
        try
        {
            return dataset.Read<T>();
        }
        catch (Exception e) when (e is not NirFormatException)
        {
            throw new NirFormatException(node, field, $"the dataset cannot be read ({e.Message})");
        }
    }

    private static IH5Dataset Dataset(IH5Group g, string node, string field)
    {
        if (!g.LinkExists(field))
            throw new NirFormatException(node, field, "the dataset is missing");
        return g.Get(field) as IH5Dataset ?? throw new NirFormatException(node, field, "expected a dataset, found a group");
    }

    private static string ReadString(IH5Group g, string node, string path)
    {
        var field = path.Contains('/') ? path[(path.LastIndexOf('/') + 1)..] : path;
        var dataset = Dataset(g, node, field);
        if (dataset.Type.Class is not (H5DataTypeClass.String or H5DataTypeClass.VariableLength) || dataset.Space.Rank != 0)
            throw new NirFormatException(node, path, $"expected a string, found {dataset.Type.Class} of rank {dataset.Space.Rank}");
        return Load<string>(dataset, node, path);
    }

    private static int[] Shape(IH5Dataset dataset, string node, string field)
    {
        var dims = dataset.Space.Dimensions;
        var shape = new int[dims.Length];
        for (var i = 0; i < dims.Length; i++)
            shape[i] = dims[i] <= int.MaxValue ? (int)dims[i] : throw new NirFormatException(node, field, $"dimension {dims[i]} is too large");
        return shape;
    }

    /// <summary>A numeric dataset as float32; a float64 one keeps its doubles as well (<see cref="NirTensor.Doubles"/>).</summary>
    private static NirTensor Tensor(IH5Group g, string node, string field)
    {
        var dataset = Dataset(g, node, field);
        var shape = Shape(dataset, node, field);
        var type = dataset.Type;
        switch (type.Class)
        {
            case H5DataTypeClass.FloatingPoint when type.Size == 4:
                return new NirTensor(Load<float[]>(dataset, node, field), shape, false);
            case H5DataTypeClass.FloatingPoint when type.Size == 8:
                return new NirTensor(Load<double[]>(dataset, node, field), shape);
            case H5DataTypeClass.FixedPoint:
                var longs = ReadIntegers(dataset, node, field);
                return new NirTensor(Array.ConvertAll(longs, v => (float)v), shape, false);
            default:
                throw new NirFormatException(node, field, $"expected float32 or float64 numbers, found {type.Class} of {type.Size} bytes");
        }
    }

    private static long[] ReadIntegers(IH5Dataset dataset, string node, string field)
    {
        var type = dataset.Type;
        var signed = type.FixedPoint.IsSigned;
        return (type.Size, signed) switch
        {
            (8, true) => Load<long[]>(dataset, node, field),
            (8, false) => Array.ConvertAll(Load<ulong[]>(dataset, node, field), v => v <= long.MaxValue ? (long)v : long.MaxValue),
            (4, true) => Array.ConvertAll(Load<int[]>(dataset, node, field), v => (long)v),
            (4, false) => Array.ConvertAll(Load<uint[]>(dataset, node, field), v => (long)v),
            (2, true) => Array.ConvertAll(Load<short[]>(dataset, node, field), v => (long)v),
            (2, false) => Array.ConvertAll(Load<ushort[]>(dataset, node, field), v => (long)v),
            (1, true) => Array.ConvertAll(Load<sbyte[]>(dataset, node, field), v => (long)v),
            (1, false) => Array.ConvertAll(Load<byte[]>(dataset, node, field), v => (long)v),
            _ => throw new NirFormatException(node, field, $"integers of {type.Size} bytes are not supported"),
        };
    }

    /// <summary>A scalar or 1-D integer dataset (a shape, a stride); whole-valued floats are accepted too.</summary>
    private static int[] Ints(IH5Group g, string node, string field)
    {
        var dataset = Dataset(g, node, field);
        if (dataset.Space.Rank > 1)
            throw new NirFormatException(node, field, $"expected a number or a list of numbers, found rank {dataset.Space.Rank}");
        if (dataset.Space.Rank == 1 && dataset.Space.Dimensions[0] > MaxListLength)
            throw new NirFormatException(node, field, $"holds {dataset.Space.Dimensions[0]} numbers; a shape, stride or size has at most {MaxListLength}");
        long[] values;
        if (dataset.Type.Class == H5DataTypeClass.FixedPoint)
        {
            values = ReadIntegers(dataset, node, field);
        }
        else
        {
            var tensor = Tensor(g, node, field);
            values = new long[tensor.Values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                var v = tensor.Values[i];
                if (v != MathF.Round(v))
                    throw new NirFormatException(node, field, $"expected whole numbers, found {v}");
                values[i] = (long)v;
            }
        }

        var ints = new int[values.Length];
        for (var i = 0; i < values.Length; i++)
            ints[i] = values[i] is >= int.MinValue and <= int.MaxValue ? (int)values[i] : throw new NirFormatException(node, field, $"{values[i]} is out of range");
        return ints;
    }

    /// <summary>The longest shape, stride or size list read (a damaged dimension must not make it a large read).</summary>
    public const int MaxListLength = 64;

    /// <summary>A stride, padding or size per spatial dimension; one number stands for all of them.</summary>
    private static int[] PerDimension(IH5Group g, string node, string field, int dims)
    {
        var values = Ints(g, node, field);
        return values.Length == 1 ? Enumerable.Repeat(values[0], dims).ToArray() : values;
    }

    private static int Int(IH5Group g, string node, string field)
    {
        var values = Ints(g, node, field);
        return values.Length == 1 ? values[0] : throw new NirFormatException(node, field, $"expected one number, found {values.Length}");
    }
}
