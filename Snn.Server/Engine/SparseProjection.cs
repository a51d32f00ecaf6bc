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
    private readonly int[]? _specIndex; // CSR position -> index of the triple in the spec; null when the spec is sorted by source
    private float[] _weights;         // CSR order
    private float[]? _bias;

    public SparseProjection(string name, int index, Population source, Population target, bool biasOnFirstStep,
        int[] pre, int[] post, float[] weights, float[]? bias)
        : base(name, index, source, target, biasOnFirstStep)
    {
        int n = pre.Length;
        _rowStart = new int[source.Size + 1];
        foreach (int s in pre)
        {
            _rowStart[s + 1]++;
        }

        for (int s = 0; s < source.Size; s++)
        {
            _rowStart[s + 1] += _rowStart[s];
        }

        // Stable counting sort by source: triples of one source keep their given order. When the spec
        // is already sorted by source (the usual case) CSR order is spec order and no permutation is kept:
        // 8 bytes per synapse (target and weight).
        bool sorted = true;
        for (int k = 1; k < n && sorted; k++)
        {
            sorted = pre[k - 1] <= pre[k];
        }

        _post = new int[n];
        if (sorted)
        {
            post.AsSpan().CopyTo(_post);
        }
        else
        {
            var next = (int[])_rowStart.Clone();
            _specIndex = new int[n];
            for (int k = 0; k < n; k++)
            {
                int at = next[pre[k]]++;
                _specIndex[at] = k;
                _post[at] = post[k];
            }
        }

        _weights = ToCsr(weights);
        _bias = bias is { Length: > 0 } ? (float[])bias.Clone() : null;
    }

    public override ProjectionKind Kind => ProjectionKind.Sparse;

    public override long Synapses => _post.Length;

    /// <summary>Weights and targets (4 bytes each per synapse), row starts, and the spec order when it was not sorted by source.</summary>
    public override long Bytes => base.Bytes + 4L * (_rowStart.Length + _post.Length + (_specIndex?.Length ?? 0));

    /// <summary>Position in the spec of the synapse at CSR position <paramref name="k"/>.</summary>
    private int SpecIndex(int k) => _specIndex is null ? k : _specIndex[k];

    /// <summary>CSR row starts [source + 1], for a device backend to build its own layout from.</summary>
    internal int[] RowStart => _rowStart;

    /// <summary>Target of each synapse, CSR order.</summary>
    internal int[] Post => _post;

    /// <summary>Weights, CSR order.</summary>
    internal float[] CsrWeights => _weights;

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
            w[SpecIndex(k)] = _weights[k];
        }

        return w;
    }

    public override float[]? CopyBias() => (float[]?)_bias?.Clone();

    /// <summary>Sources of the triples, in the spec's order.</summary>
    public int[] CopyPre()
    {
        var p = new int[_post.Length];
        for (int s = 0; s + 1 < _rowStart.Length; s++)
        {
            for (int k = _rowStart[s]; k < _rowStart[s + 1]; k++)
            {
                p[SpecIndex(k)] = s;
            }
        }

        return p;
    }

    /// <summary>Targets of the triples, in the spec's order.</summary>
    public int[] CopyPost()
    {
        var p = new int[_post.Length];
        for (int k = 0; k < p.Length; k++)
        {
            p[SpecIndex(k)] = _post[k];
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
            w[k] = weights[SpecIndex(k)];
        }

        return w;
    }
}
