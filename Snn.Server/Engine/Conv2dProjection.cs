namespace Snn.Server.Engine;

/// <summary>
/// A 2-d convolution (torch.nn.Conv2d, no groups or dilation, zero padding) between C-major
/// populations, weights[out_c][in_c][kh][kw] with optional bias[out_c]. Delivery is event-driven:
/// every source pixel with a non-zero value scatters value × kernel into the outputs whose window
/// covers it, so the cost is spikes × in-kernel fan-out. The output is formed in the scratch buffer and
/// then added to the target's input in one pass, so projections add one at a time in declaration order.
/// </summary>
/// <remarks>
/// The scatter sums each output in a different order than torch's direct convolution. With dyadic
/// weights (k/64) and integer spike counts every partial sum is exact (refnets README, "the 1/64
/// claim"), so the bits agree; otherwise the difference is rounding only.
/// </remarks>
internal sealed class Conv2dProjection : Projection
{
    private readonly Window2d _g;
    private float[] _weights; // [out_c][in_c][kh][kw], the spec's layout
    private float[] _scatter; // [in_c][kh][kw][out_c]: the weights one source pixel sends, contiguous per tap
    private float[]? _bias;

    public Conv2dProjection(string name, int index, Population source, Population target, bool biasOnFirstStep,
        Window2d geometry, float[] weights, float[]? bias)
        : base(name, index, source, target, biasOnFirstStep)
    {
        _g = geometry;
        _weights = (float[])weights.Clone();
        _scatter = ToScatter(_weights, geometry);
        _bias = bias is { Length: > 0 } ? (float[])bias.Clone() : null;
    }

    public Window2d Geometry => _g;

    public override ProjectionKind Kind => ProjectionKind.Conv2d;

    public override long Synapses => _weights.Length;

    /// <summary>Every output neuron sums its window over the input channels.</summary>
    public override long Connections => (long)Target.Size * _g.InChannels * _g.KernelHeight * _g.KernelWidth;

    public override long Bytes => base.Bytes + 4L * _scatter.Length;

    public override void Deliver(ReadOnlySpan<float> source, Span<float> target, Span<float> scratch, bool addBias)
    {
        var g = _g;
        int outPlane = g.OutPlane;
        int outC = g.OutChannels;
        var acc = scratch[..target.Length];
        acc.Clear();
        var w = _scatter.AsSpan();
        bool any = false;
        for (int c = 0; c < g.InChannels; c++)
        {
            for (int y = 0; y < g.Height; y++)
            {
                var row = source.Slice((c * g.Height + y) * g.Width, g.Width);
                for (int x = 0; x < row.Length; x++)
                {
                    float v = row[x];
                    if (v == 0f)
                    {
                        continue;
                    }

                    any = true;
                    Window2d.Covering(y, g.KernelHeight, g.StrideY, g.PaddingY, g.OutHeight, out int oy0, out int oy1);
                    Window2d.Covering(x, g.KernelWidth, g.StrideX, g.PaddingX, g.OutWidth, out int ox0, out int ox1);
                    for (int oy = oy0; oy <= oy1; oy++)
                    {
                        int ky = y + g.PaddingY - oy * g.StrideY;
                        for (int ox = ox0; ox <= ox1; ox++)
                        {
                            int kx = x + g.PaddingX - ox * g.StrideX;
                            var tap = w.Slice(((c * g.KernelHeight + ky) * g.KernelWidth + kx) * outC, outC);
                            int at = oy * g.OutWidth + ox;
                            for (int o = 0; o < tap.Length; o++)
                            {
                                acc[at] += v * tap[o];
                                at += outPlane;
                            }
                        }
                    }
                }
            }
        }

        if (addBias && _bias is { } bias)
        {
            for (int o = 0; o < bias.Length; o++)
            {
                float b = bias[o];
                foreach (ref float a in acc.Slice(o * outPlane, outPlane))
                {
                    a += b;
                }
            }

            any = true;
        }

        if (any)
        {
            DenseProjection.Add(acc, target);
        }
    }

    public override float[] CopyWeights() => (float[])_weights.Clone();

    public override float[]? CopyBias() => (float[]?)_bias?.Clone();

    public override PreparedWeights PrepareWeights(float[]? weights, float[]? bias, string field)
    {
        float[]? w = null;
        if (weights is { Length: > 0 })
        {
            CheckWeights(weights, _g, $"{field}.weights", $"conv2d projection '{Name}'");
            w = (float[])weights.Clone();
        }

        float[]? b = null;
        if (bias is { Length: > 0 })
        {
            CheckBias(bias, _g, $"{field}.bias", $"conv2d projection '{Name}'");
            b = (float[])bias.Clone();
        }

        return new PreparedWeights(w, b, w is null ? null : ToScatter(w, _g));
    }

    public override void Install(PreparedWeights prepared)
    {
        if (prepared.Weights is { } w)
        {
            _weights = w;
            _scatter = prepared.Layout!;
        }

        if (prepared.Bias is { } b)
        {
            _bias = b;
        }
    }

    internal static void CheckWeights(float[] weights, Window2d g, string field, string what)
    {
        long expected = (long)g.OutChannels * g.InChannels * g.KernelHeight * g.KernelWidth;
        if (weights.Length != expected)
        {
            throw EngineException.Invalid(
                $"{field} has {weights.Length} values; {what} needs out_c*in_c*kh*kw = {g.OutChannels}*{g.InChannels}*{g.KernelHeight}*{g.KernelWidth} = {expected} (row-major [out_c][in_c][kh][kw])");
        }

        NetworkBuilder.CheckFinite(weights, field);
    }

    internal static void CheckBias(float[] bias, Window2d g, string field, string what)
    {
        if (bias.Length != g.OutChannels)
        {
            throw EngineException.Invalid(
                $"{field} has {bias.Length} values; {what} needs one per output channel (out_c = {g.OutChannels})");
        }

        NetworkBuilder.CheckFinite(bias, field);
    }

    /// <summary>[out_c][in_c][kh][kw] to [in_c][kh][kw][out_c].</summary>
    private static float[] ToScatter(float[] w, Window2d g)
    {
        int taps = g.InChannels * g.KernelHeight * g.KernelWidth;
        var t = new float[w.Length];
        for (int o = 0; o < g.OutChannels; o++)
        {
            for (int k = 0; k < taps; k++)
            {
                t[k * g.OutChannels + o] = w[o * taps + k];
            }
        }

        return t;
    }
}
