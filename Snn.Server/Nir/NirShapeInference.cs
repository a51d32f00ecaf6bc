namespace Snn.Server.Nir;

/// <summary>
/// The shape of every node's output (and input) in a flat graph, worked out from the Input nodes
/// forward, as nir's type inference does: Affine gives [out], a convolution or pooling gives
/// [C, H', W'], Flatten merges dimensions, and every other node keeps its input's shape. A neuron node
/// whose parameters have a shape of more than one element takes that shape where no input fixes it.
/// A source that does not fit (a weight expecting 12 inputs fed 10) is an error naming the node.
/// </summary>
internal sealed class NirShapeInference
{
    private readonly NirFlatGraph _graph;
    private readonly Dictionary<string, int[]> _output = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int[]> _input = new(StringComparer.Ordinal);

    public NirShapeInference(NirFlatGraph graph)
    {
        _graph = graph;
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var node in graph.Nodes)
            {
                if (_output.ContainsKey(node.Name))
                    continue;
                var input = InputShape(node);
                if (input is null && node is not NirInput && _graph.Sources(node.Name).Any(source => !IsBackEdgeOnly(source, node)))
                    continue; // wait for a source's shape
                var output = OutputShape(node, input);
                if (output is null)
                    continue;
                if (input is not null)
                    _input[node.Name] = input;
                _output[node.Name] = output;
                changed = true;
            }
        }

        foreach (var node in graph.Nodes)
        {
            if (!_output.ContainsKey(node.Name))
                throw new NirFormatException(node.Name, "edges", "no Input node reaches this node, so its shape is unknown");
        }

        foreach (var node in graph.Nodes)
            CheckSources(node);
    }

    public int[] Of(string node) => _output[node];

    /// <summary>
    /// Whether the only way <paramref name="source"/> gets a shape is through <paramref name="node"/> itself
    /// (a recurrent edge back into it), so the node must not wait for it.
    /// </summary>
    private bool IsBackEdgeOnly(string source, NirNode node) => node.IsStateful && Reaches(node.Name, source, []);

    private bool Reaches(string from, string to, HashSet<string> seen)
    {
        if (from == to)
            return true;
        if (!seen.Add(from))
            return false;
        return _graph.Targets(from).Any(t => Reaches(t, to, seen));
    }

    /// <summary>The shape the node's input has (its sources' shape).</summary>
    public int[] InputOf(string node) => _input.TryGetValue(node, out var shape) ? shape : _output[node];

    private int[]? InputShape(NirNode node)
    {
        foreach (var source in _graph.Sources(node.Name))
        {
            if (_output.TryGetValue(source, out var shape))
                return shape;
        }

        return null;
    }

    private static int[]? OutputShape(NirNode node, int[]? input)
    {
        switch (node)
        {
            case NirInput n:
                return n.Shape;
            case NirAffine n:
                return [n.Weight.Shape[0]];
            case NirLinear n:
                return [n.Weight.Shape[0]];
            case NirConv n when input is not null:
                return NirOperations.ConvOutput(n, NirOperations.SpatialInput(n, input));
            case NirPool2d n when input is not null:
                return NirOperations.PoolOutput(n, NirOperations.ChannelsHeightWidth(n.Name, input));
            case NirFlatten n when input is not null:
                return Flatten(n, input);
            case NirOutput n:
                return input ?? null;
            default:
                if (input is not null)
                    return input;
                var own = ParameterShape(node);
                return own;
        }
    }

    /// <summary>The shape a neuron node's parameters state, where one of them has more than one element.</summary>
    private static int[]? ParameterShape(NirNode node)
    {
        return NirParameters.Of(node).Select(p => p.Tensor).FirstOrDefault(t => t.Values.Length > 1)?.Shape;
    }

    private static int[] Flatten(NirFlatten n, int[] input)
    {
        int rank = input.Length;
        int start = n.StartDim < 0 ? n.StartDim + rank : n.StartDim;
        int end = n.EndDim < 0 ? n.EndDim + rank : n.EndDim;
        if (start < 0 || end >= rank || start > end)
        {
            // nir writes start_dim counting the batch dimension in some exporters; a full flatten is what they mean.
            if (rank == 0)
                return [1];
            start = 0;
            end = rank - 1;
        }

        var shape = new List<int>();
        for (int d = 0; d < start; d++)
            shape.Add(input[d]);
        int merged = 1;
        for (int d = start; d <= end; d++)
            merged *= input[d];
        shape.Add(merged);
        for (int d = end + 1; d < rank; d++)
            shape.Add(input[d]);
        return shape.ToArray();
    }

    private static long Size(int[] shape)
    {
        long size = 1;
        foreach (var d in shape)
            size *= d;
        return size;
    }

    private void CheckSources(NirNode node)
    {
        var own = InputOf(node.Name);
        foreach (var source in _graph.Sources(node.Name))
        {
            var shape = _output[source];
            if (Size(shape) != Size(own))
            {
                throw new NirFormatException(node.Name, "edges",
                    $"its inputs differ in size: '{source}' gives {NirShapes.Format(shape)}, another source gives {NirShapes.Format(own)}");
            }
        }

        switch (node)
        {
            case NirAffine a when Size(own) != a.Weight.Shape[1]:
                throw new NirFormatException(node.Name, "weight", $"expects {a.Weight.Shape[1]} inputs (weight {a.Weight.ShapeText}); its input has shape {NirShapes.Format(own)}");
            case NirLinear l when Size(own) != l.Weight.Shape[1]:
                throw new NirFormatException(node.Name, "weight", $"expects {l.Weight.Shape[1]} inputs (weight {l.Weight.ShapeText}); its input has shape {NirShapes.Format(own)}");
            case NirOutput o when o.Shape.Length > 0 && Size(o.Shape) != Size(_output[node.Name]):
                throw new NirFormatException(node.Name, "shape", $"states {NirShapes.Format(o.Shape)}, but what reaches it has shape {NirShapes.Format(_output[node.Name])}");
        }

        var parameters = NirParameters.Of(node);
        long size = Size(_output[node.Name]);
        foreach (var (field, tensor) in parameters)
        {
            if (tensor.Values.Length != 1 && tensor.Values.Length != size)
                throw new NirFormatException(node.Name, field, $"has {tensor.Values.Length} values ({tensor.ShapeText}); the node has {size} neurons ({NirShapes.Format(_output[node.Name])}): give one value or one per neuron");
        }
    }
}
