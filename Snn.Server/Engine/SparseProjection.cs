namespace Snn.Server.Engine;

/// <summary>
/// (pre, post, weight) triples with optional bias[target], stored compressed by source (CSR): the
/// synapses of each source neuron are contiguous, in the order given. Delivery is event-driven, cost =
/// spikes × fan-out. Duplicate (pre, post) pairs are allowed; their products are added one after the
/// other in the order given. The output is formed in the scratch buffer and then added to the target's
/// input in one pass, so projections add one at a time in declaration order.
/// </summary>
internal sealed class SparseProjection : Projection
{
    private readonly int[] _rowStart; // [source + 1]: synapses of source s are _rowStart[s].._rowStart[s+1]-1
    private readonly int[] _post;     // target of each synapse, CSR order
    private readonly int[] _specIndex; // CSR position -> index of the triple in the spec
    private readonly int[] _pre;      // source of each triple, spec order (for GetNetwork)
    private float[] _weights;         // CSR order
    private float[]? _bias;

    public SparseProjection(string name, int index, Population source, Population target, bool biasOnFirstStep,
        int[] pre, int[] post, float[] weights, float[]? bias)
        : base(name, index, source, target, biasOnFirstStep)
    {
        int n = pre.Length;
        _pre = (int[])pre.Clone();
        _rowStart = new int[source.Size + 1];
        foreach (int s in pre)
        {
            _rowStart[s + 1]++;
        }

        for (int s = 0; s < source.Size; s++)
        {
            _rowStart[s + 1] += _rowStart[s];
        }

        // Stable counting sort by source: triples of one source keep their given order.
        var next = (int[])_rowStart.Clone();
        _specIndex = new int[n];
        _post = new int[n];
        for (int k = 0; k < n; k++)
        {
            int at = next[pre[k]]++;
            _specIndex[at] = k;
            _post[at] = post[k];
        }

        _weights = ToCsr(weights);
        _bias = bias is { Length: > 0 } ? (float[])bias.Clone() : null;
    }

    public override ProjectionKind Kind => ProjectionKind.Sparse;

    public override long Synapses => _post.Length;

    /// <summary>Weights, row starts, targets, spec positions and sources: 4 bytes each per synapse.</summary>
    public override long Bytes => base.Bytes + 4L * (_rowStart.Length + 3L * _post.Length);

    public override void Deliver(ReadOnlySpan<float> source, Span<float> target, Span<float> scratch, bool addBias)
    {
        var acc = scratch[..target.Length];
        acc.Clear();
        var rowStart = _rowStart;
        var post = _post;
        var w = _weights;
        bool any = false;
        for (int s = 0; s < source.Length; s++)
        {
            float v = source[s];
            if (v == 0f)
            {
                continue;
            }

            any = true;
            int end = rowStart[s + 1];
            for (int k = rowStart[s]; k < end; k++)
            {
                acc[post[k]] += v * w[k];
            }
        }

        if (addBias && _bias is { } bias)
        {
            DenseProjection.Add(bias, acc);
            any = true;
        }

        if (any)
        {
            DenseProjection.Add(acc, target);
        }
    }

    /// <summary>Weights in the spec's (triple) order.</summary>
    public override float[] CopyWeights()
    {
        var w = new float[_weights.Length];
        for (int k = 0; k < w.Length; k++)
        {
            w[_specIndex[k]] = _weights[k];
        }

        return w;
    }

    public override float[]? CopyBias() => (float[]?)_bias?.Clone();

    /// <summary>Sources of the triples, in the spec's order (a copy).</summary>
    public int[] CopyPre() => (int[])_pre.Clone();

    /// <summary>Targets of the triples, in the spec's order.</summary>
    public int[] CopyPost()
    {
        var p = new int[_post.Length];
        for (int k = 0; k < p.Length; k++)
        {
            p[_specIndex[k]] = _post[k];
        }

        return p;
    }

    public override PreparedWeights PrepareWeights(float[]? weights, float[]? bias, string field)
    {
        float[]? w = null;
        if (weights is { Length: > 0 })
        {
            if (weights.Length != _post.Length)
            {
                throw EngineException.Invalid(
                    $"{field}.weights has {weights.Length} values; sparse projection '{Name}' has {_post.Length} synapses (one weight per (pre, post) triple, in the spec's order)");
            }

            NetworkBuilder.CheckFinite(weights, $"{field}.weights");
            w = ToCsr(weights);
        }

        float[]? b = PrepareTargetBias(bias, field);

        return new PreparedWeights(null, b, w);
    }

    public override void Install(PreparedWeights prepared)
    {
        if (prepared.Layout is { } w)
        {
            _weights = w;
        }

        if (prepared.Bias is { } b)
        {
            _bias = b;
        }
    }

    private float[] ToCsr(float[] weights)
    {
        var w = new float[weights.Length];
        for (int k = 0; k < w.Length; k++)
        {
            w[k] = weights[_specIndex[k]];
        }

        return w;
    }
}
