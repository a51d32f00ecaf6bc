using System.Numerics;
using System.Runtime.InteropServices;

namespace Snn.Server.Engine;

/// <summary>
/// weights[target][source] with optional bias[target]. Stored source-major so that delivery is
/// event-driven: only sources with a non-zero value cost anything (spikes × fan-out), and a fully
/// active source costs the same as a matrix-vector product. The sum is formed in a scratch buffer
/// and then added to the target's input, so projections add one at a time in declaration order.
/// </summary>
internal sealed class DenseProjection : Projection
{
    private float[] _weightsBySource; // [source][target]
    private float[]? _bias;

    public DenseProjection(string name, int index, Population source, Population target, bool biasOnFirstStep,
        float[] weights, float[]? bias)
        : base(name, index, source, target, biasOnFirstStep)
    {
        _weightsBySource = Transpose(weights, target.Size, source.Size);
        _bias = bias is { Length: > 0 } ? (float[])bias.Clone() : null;
    }

    public override ProjectionKind Kind => ProjectionKind.Dense;

    public override long Synapses => (long)Source.Size * Target.Size;

    public override void Deliver(ReadOnlySpan<float> source, Span<float> target, Span<float> scratch, bool addBias)
    {
        int nt = Target.Size;
        var acc = scratch[..nt];
        acc.Clear();
        var w = _weightsBySource.AsSpan();
        bool any = false;
        for (int s = 0; s < source.Length; s++)
        {
            float v = source[s];
            if (v == 0f)
            {
                continue;
            }

            any = true;
            Axpy(v, w.Slice(s * nt, nt), acc);
        }

        if (addBias && _bias is { } bias)
        {
            Add(bias, acc);
            any = true;
        }

        if (any)
        {
            Add(acc, target);
        }
    }

    public override float[] CopyWeights() => Transpose(_weightsBySource, Source.Size, Target.Size);

    /// <summary>The weights as stored, [source][target] (a device backend uploads them as they are). Not to be written.</summary>
    internal float[] WeightsBySource => _weightsBySource;

    public override float[]? CopyBias() => (float[]?)_bias?.Clone();

    public override PreparedWeights PrepareWeights(float[]? weights, float[]? bias, string field)
    {
        float[]? w = null;
        if (weights is { Length: > 0 })
        {
            long expected = (long)Target.Size * Source.Size;
            if (weights.Length != expected)
            {
                throw EngineException.Invalid(
                    $"{field}.weights has {weights.Length} values; dense projection '{Name}' needs target.size*source.size = {Target.Size}*{Source.Size} = {expected}");
            }

            NetworkBuilder.CheckFinite(weights, $"{field}.weights");
            w = Transpose(weights, Target.Size, Source.Size);
        }

        float[]? b = PrepareTargetBias(bias, field);

        return new PreparedWeights(w, b);
    }

    public override void Install(PreparedWeights prepared)
    {
        if (prepared.Weights is { } w)
        {
            _weightsBySource = w;
        }

        if (prepared.Bias is { } b)
        {
            _bias = b;
        }
    }

    /// <summary>Transposes a [rows][cols] matrix into [cols][rows].</summary>
    private static float[] Transpose(float[] m, int rows, int cols)
    {
        var t = new float[m.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                t[c * rows + r] = m[r * cols + c];
            }
        }

        return t;
    }

    /// <summary>acc[i] = acc[i] + v*w[i], each operation rounded to float32 (no FMA).</summary>
    internal static void Axpy(float v, ReadOnlySpan<float> w, Span<float> acc)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && acc.Length >= Vector<float>.Count)
        {
            var vv = new Vector<float>(v);
            var wv = MemoryMarshal.Cast<float, Vector<float>>(w);
            var av = MemoryMarshal.Cast<float, Vector<float>>(acc);
            for (int k = 0; k < av.Length; k++)
            {
                av[k] += vv * wv[k];
            }

            i = av.Length * Vector<float>.Count;
        }

        for (; i < acc.Length; i++)
        {
            acc[i] += v * w[i];
        }
    }

    /// <summary>dst[i] = dst[i] + src[i].</summary>
    internal static void Add(ReadOnlySpan<float> src, Span<float> dst)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && dst.Length >= Vector<float>.Count)
        {
            var sv = MemoryMarshal.Cast<float, Vector<float>>(src[..dst.Length]);
            var dv = MemoryMarshal.Cast<float, Vector<float>>(dst);
            for (int k = 0; k < dv.Length; k++)
            {
                dv[k] += sv[k];
            }

            i = dv.Length * Vector<float>.Count;
        }

        for (; i < dst.Length; i++)
        {
            dst[i] += src[i];
        }
    }
}
