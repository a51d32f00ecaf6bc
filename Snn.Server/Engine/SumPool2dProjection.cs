namespace Snn.Server.Engine;

/// <summary>
/// Sum pooling per channel (sinabs SumPool2d = torch LPPool2d with p = 1 = avg_pool2d × kh × kw,
/// floor mode) between C-major populations [C,H,W] → [C,Ho,Wo], zero padding. No weights, no bias.
/// Event-driven: each non-zero source pixel adds its value to the outputs whose window covers it. The
/// output is formed in the scratch buffer and added to the target's input in one pass.
/// </summary>
internal sealed class SumPool2dProjection(string name, int index, Population source, Population target,
    bool biasOnFirstStep, Window2d geometry)
    : Projection(name, index, source, target, biasOnFirstStep)
{
    public Window2d Geometry { get; } = geometry;

    public override ProjectionKind Kind => ProjectionKind.SumPool2d;

    /// <summary>No stored weights.</summary>
    public override long Synapses => 0;

    /// <summary>Every output neuron sums its window within its channel.</summary>
    public override long Connections => (long)Target.Size * Geometry.KernelHeight * Geometry.KernelWidth;

    public override void Deliver(ReadOnlySpan<float> source, Span<float> target, Span<float> scratch, bool addBias)
    {
        var g = Geometry;
        int outPlane = g.OutPlane;
        var acc = scratch[..target.Length];
        acc.Clear();
        bool any = false;
        for (int c = 0; c < g.InChannels; c++)
        {
            var plane = acc.Slice(c * outPlane, outPlane);
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
                        var outRow = plane.Slice(oy * g.OutWidth, g.OutWidth);
                        for (int ox = ox0; ox <= ox1; ox++)
                        {
                            outRow[ox] += v;
                        }
                    }
                }
            }
        }

        if (any)
        {
            DenseProjection.Add(acc, target);
        }
    }

    public override float[] CopyWeights() => [];

    public override float[]? CopyBias() => null;

    public override PreparedWeights PrepareWeights(float[]? weights, float[]? bias, string field)
    {
        if (weights is { Length: > 0 } || bias is { Length: > 0 })
        {
            throw EngineException.Invalid($"{field}: sum_pool2d projection '{Name}' has no weights or bias to set");
        }

        return new PreparedWeights(null, null);
    }

    public override void Install(PreparedWeights prepared)
    {
    }
}
