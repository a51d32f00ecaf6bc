namespace Snn.Server.Nir;

/// <summary>
/// Checks a graph as read: each node's parameter shapes agree, numbers are finite and in range, every edge
/// joins two nodes of the graph, and every cycle passes through a stateful node (otherwise a step would
/// need its own output). Each fault names the node and the field.
/// </summary>
internal static class NirValidator
{
    public static void Validate(NirGraph graph) => Validate(graph, "");

    /// <summary>
    /// Validates a graph whose nodes are named <paramref name="prefix"/> + name in faults: "" for the root,
    /// "lif1/" for the graph nested as node lif1, so that a fault names the path to the node.
    /// </summary>
    private static void Validate(NirGraph graph, string prefix)
    {
        var where = prefix.TrimEnd('/');
        if (graph.Nodes.Count == 0)
            throw new NirFormatException(where, "nodes", "the graph has no nodes");
        foreach (var node in graph.Nodes.Values)
            ValidateNode(node, prefix);
        if (!graph.Nodes.Values.Any(node => node is NirInput))
            throw new NirFormatException(where, "nodes", "the graph has no Input node; its inputs must be Input nodes");
        if (!graph.Nodes.Values.Any(node => node is NirOutput))
            throw new NirFormatException(where, "nodes", "the graph has no Output node; its outputs must be Output nodes");
        ValidateEdges(graph, prefix);
        ValidateCycles(graph, prefix);
    }

    private static void ValidateNode(NirNode node, string prefix)
    {
        var n = prefix + node.Name;
        switch (node)
        {
            case NirSubgraph subgraph:
                Validate(subgraph.Graph, n + "/");
                break;
            case NirInput input:
                Dimensions(n, "shape", input.Shape);
                break;
            case NirOutput output:
                Dimensions(n, "shape", output.Shape);
                break;
            case NirAffine affine:
                Rank(n, "weight", affine.Weight, 2, "[out, in]");
                Finite(n, "weight", affine.Weight);
                Finite(n, "bias", affine.Bias);
                if (affine.Bias.Rank != 1 || affine.Bias.Shape[0] != affine.Weight.Shape[0])
                    throw new NirFormatException(n, "bias", $"shape {affine.Bias.ShapeText} does not match weight {affine.Weight.ShapeText}: expected [{affine.Weight.Shape[0]}] (one per output)");
                break;
            case NirLinear linear:
                Rank(n, "weight", linear.Weight, 2, "[out, in]");
                Finite(n, "weight", linear.Weight);
                break;
            case NirScale scale:
                Finite(n, "scale", scale.Scale);
                break;
            case NirConv conv:
                ValidateConv(conv, n);
                break;
            case NirPool2d pool:
                PerDimension(n, "kernel_size", pool.KernelSize, 2, 1);
                PerDimension(n, "stride", pool.Stride, 2, 1);
                PerDimension(n, "padding", pool.Padding, 2, 0);
                break;
            case NirFlatten flatten:
                if (flatten.InputShape is { } shape)
                {
                    Dimensions(n, "input_type", shape);
                    var start = FlattenDim(n, "start_dim", flatten.StartDim, shape.Length);
                    if (FlattenDim(n, "end_dim", flatten.EndDim, shape.Length) < start)
                        throw new NirFormatException(n, "end_dim", $"{flatten.EndDim} comes before start_dim {flatten.StartDim} in an input of rank {shape.Length}");
                }

                break;
            case NirDelay delay:
                NonNegative(n, "delay", delay.Delay);
                break;
            case NirThreshold threshold:
                Finite(n, "threshold", threshold.Threshold);
                break;
            case NirI or NirLI or NirIF or NirLIF or NirCubaLI or NirCubaLIF:
                ValidateNeuron(node, n);
                break;
        }
    }

    /// <summary>
    /// A neuron node's parameters (NirParameters, in NIR's order): time constants positive, all finite, and
    /// one shape for all of them; w_in may also be a single value.
    /// </summary>
    private static void ValidateNeuron(NirNode node, string n)
    {
        var parameters = NirParameters.Of(node).ToList();
        foreach (var (field, tensor) in parameters)
        {
            if (field.StartsWith("tau", StringComparison.Ordinal))
                Positive(n, field, tensor);
        }

        var shaped = parameters.Where(p => p.Field != "w_in").ToList();
        SameShape(n, shaped[0], [.. shaped.Skip(1)]);
        if (parameters.FirstOrDefault(p => p.Field == "w_in") is { Tensor: { } wIn })
            ScalarOrSameShape(n, "w_in", wIn, parameters.Single(p => p.Field == "tau_mem").Tensor);
    }

    private static void ValidateConv(NirConv conv, string n)
    {
        var d = conv.SpatialDims;
        var layout = d == 1 ? "[out, in / groups, k]" : "[out, in / groups, kh, kw]";
        Rank(n, "weight", conv.Weight, d + 2, layout);
        Finite(n, "weight", conv.Weight);
        Finite(n, "bias", conv.Bias);
        var outChannels = conv.Weight.Shape[0];
        if (conv.Bias.Rank != 1 || conv.Bias.Shape[0] != outChannels)
            throw new NirFormatException(n, "bias", $"shape {conv.Bias.ShapeText} does not match weight {conv.Weight.ShapeText}: expected [{outChannels}] (one per output channel)");
        PerDimension(n, "stride", conv.Stride, d, 1);
        PerDimension(n, "padding", conv.Padding, d, 0);
        PerDimension(n, "dilation", conv.Dilation, d, 1);
        if (conv.Groups < 1 || outChannels % conv.Groups != 0)
            throw new NirFormatException(n, "groups", $"{conv.Groups} must be at least 1 and divide the {outChannels} output channels");
        if (conv.InputShape is { } shape)
        {
            if (shape.Length != d)
                throw new NirFormatException(n, "input_shape", $"expected {d} spatial size(s), found {NirShapes.Format(shape)}");
            Dimensions(n, "input_shape", shape);
        }
    }

    private static void ValidateEdges(NirGraph graph, string prefix)
    {
        foreach (var (source, target) in graph.Edges)
        {
            if (!graph.Nodes.ContainsKey(source))
                throw new NirFormatException(prefix + source, "edges", $"the edge {source} -> {target} starts at a node the graph does not have");
            if (!graph.Nodes.ContainsKey(target))
                throw new NirFormatException(prefix + target, "edges", $"the edge {source} -> {target} ends at a node the graph does not have");
            if (graph.Nodes[source] is NirOutput)
                throw new NirFormatException(prefix + source, "edges", $"the edge {source} -> {target} leaves an Output node");
            if (graph.Nodes[target] is NirInput)
                throw new NirFormatException(prefix + target, "edges", $"the edge {source} -> {target} enters an Input node");
        }
    }

    /// <summary>
    /// A cycle made only of stateless nodes has no well-defined step. Removing the stateful nodes must leave
    /// an acyclic graph: Kahn's algorithm over the stateless nodes; whatever it cannot order lies on such a cycle.
    /// </summary>
    private static void ValidateCycles(NirGraph graph, string prefix)
    {
        var stateless = graph.Nodes.Values.Where(node => !node.IsStateful).Select(node => node.Name).ToHashSet(StringComparer.Ordinal);
        var indegree = stateless.ToDictionary(name => name, _ => 0, StringComparer.Ordinal);
        var successors = stateless.ToDictionary(name => name, _ => new List<string>(), StringComparer.Ordinal);
        foreach (var (source, target) in graph.Edges)
        {
            if (!stateless.Contains(source) || !stateless.Contains(target))
                continue;
            successors[source].Add(target);
            indegree[target]++;
        }

        var ready = new Queue<string>(indegree.Where(kv => kv.Value == 0).Select(kv => kv.Key));
        var ordered = 0;
        while (ready.TryDequeue(out var name))
        {
            ordered++;
            foreach (var next in successors[name])
                if (--indegree[next] == 0)
                    ready.Enqueue(next);
        }

        if (ordered == stateless.Count)
            return;
        var onCycle = graph.Nodes.Keys.Where(name => indegree.TryGetValue(name, out var d) && d > 0).Select(name => prefix + name).ToList();
        throw new NirFormatException(onCycle[0], "edges",
            $"a cycle through {string.Join(", ", onCycle.Take(8))}{(onCycle.Count > 8 ? $", ... ({onCycle.Count} nodes)" : "")} has no stateful node (I, LI, IF, LIF, CubaLI, CubaLIF, Delay or a subgraph holding one), so no step can compute it");
    }

    /// <summary>A dimension index of an input of rank <paramref name="rank"/>, negative counting from the end (as torch does).</summary>
    private static int FlattenDim(string node, string field, int dim, int rank)
    {
        var index = dim < 0 ? dim + rank : dim;
        return index >= 0 && index < rank
            ? index
            : throw new NirFormatException(node, field, $"{dim} is not a dimension of an input of rank {rank} ({-rank} to {rank - 1})");
    }

    private static void Rank(string node, string field, NirTensor tensor, int rank, string layout)
    {
        if (tensor.Rank != rank)
            throw new NirFormatException(node, field, $"shape {tensor.ShapeText} has rank {tensor.Rank}, expected {layout}");
    }

    private static void SameShape(string node, (string Field, NirTensor Tensor) first, params (string Field, NirTensor Tensor)[] rest)
    {
        Finite(node, first.Field, first.Tensor);
        foreach (var (field, tensor) in rest)
        {
            Finite(node, field, tensor);
            if (!tensor.SameShape(first.Tensor))
                throw new NirFormatException(node, field, $"shape {tensor.ShapeText} differs from {first.Field}'s {first.Tensor.ShapeText}; all neuron parameters need the same shape");
        }
    }

    private static void ScalarOrSameShape(string node, string field, NirTensor tensor, NirTensor like)
    {
        Finite(node, field, tensor);
        if (tensor.Values.Length != 1 && !tensor.SameShape(like))
            throw new NirFormatException(node, field, $"shape {tensor.ShapeText} must be a single number or {like.ShapeText}");
    }

    private static void Finite(string node, string field, NirTensor tensor)
    {
        foreach (var v in tensor.Values)
            if (!float.IsFinite(v))
                throw new NirFormatException(node, field, $"holds {v}; every value must be a finite float32");
    }

    private static void Positive(string node, string field, NirTensor tensor)
    {
        Finite(node, field, tensor);
        foreach (var v in tensor.Values)
            if (v <= 0)
                throw new NirFormatException(node, field, $"holds {v}; a time constant must be positive");
    }

    private static void NonNegative(string node, string field, NirTensor tensor)
    {
        Finite(node, field, tensor);
        foreach (var v in tensor.Values)
            if (v < 0)
                throw new NirFormatException(node, field, $"holds {v}; a delay cannot be negative");
    }

    private static void Dimensions(string node, string field, int[] shape)
    {
        if (shape.Length == 0 || shape.Any(d => d < 1))
            throw new NirFormatException(node, field, $"{NirShapes.Format(shape)} is not a shape: give one or more sizes of at least 1");
    }

    /// <summary>One entry per spatial dimension (the reader expands a single number), each at least <paramref name="min"/>.</summary>
    private static void PerDimension(string node, string field, int[] values, int dims, int min)
    {
        if (values.Length != dims)
            throw new NirFormatException(node, field, $"{NirShapes.Format(values)} needs {dims} entr{(dims == 1 ? "y" : "ies")}");
        if (values.Any(v => v < min))
            throw new NirFormatException(node, field, $"{NirShapes.Format(values)} has an entry below {min}");
    }
}
