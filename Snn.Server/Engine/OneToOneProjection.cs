using System.Numerics;
using System.Runtime.InteropServices;

namespace Snn.Server.Engine;

/// <summary>target[n] += weights[n] * source[n]; no weights means weight 1 (target[n] += source[n]).</summary>
internal sealed class OneToOneProjection(string name, int index, Population source, Population target,
    bool biasOnFirstStep, float[]? weights)
    : Projection(name, index, source, target, biasOnFirstStep)
{
    private float[]? _weights = weights is { Length: > 0 } ? (float[])weights.Clone() : null;

    public override ProjectionKind Kind => ProjectionKind.OneToOne;

    public override long Synapses => Target.Size;

    public override void Deliver(ReadOnlySpan<float> source, Span<float> target, Span<float> scratch, bool addBias)
    {
        if (_weights is null)
        {
            DenseProjection.Add(source, target);
            return;
        }

        // One product per target: fl(t + fl(w*s)), the same bits as summing into scratch first.
        var w = _weights.AsSpan();
        int i = 0;
        if (Vector.IsHardwareAccelerated && target.Length >= Vector<float>.Count)
        {
            var sv = MemoryMarshal.Cast<float, Vector<float>>(source);
            var wv = MemoryMarshal.Cast<float, Vector<float>>(w);
            var tv = MemoryMarshal.Cast<float, Vector<float>>(target);
            for (int k = 0; k < tv.Length; k++)
            {
                tv[k] += wv[k] * sv[k];
            }

            i = tv.Length * Vector<float>.Count;
        }

        for (; i < target.Length; i++)
        {
            target[i] += w[i] * source[i];
        }
    }

    public override float[] CopyWeights() => _weights is null ? [] : (float[])_weights.Clone();

    public override float[]? CopyBias() => null;

    public override PreparedWeights PrepareWeights(float[]? weights, float[]? bias, string field)
    {
        if (bias is { Length: > 0 })
        {
            throw EngineException.Invalid($"{field}.bias: one-to-one projection '{Name}' has no bias");
        }

        if (weights is not { Length: > 0 })
        {
            return new PreparedWeights(null, null);
        }

        if (weights.Length != Target.Size && weights.Length != 1)
        {
            throw EngineException.Invalid(
                $"{field}.weights has {weights.Length} values; one-to-one projection '{Name}' needs one per neuron ({Target.Size}) or one for all");
        }

        NetworkBuilder.CheckFinite(weights, $"{field}.weights");
        var copy = weights.Length == Target.Size ? (float[])weights.Clone() : Enumerable.Repeat(weights[0], Target.Size).ToArray();
        return new PreparedWeights(copy, null);
    }

    public override void Install(PreparedWeights prepared)
    {
        if (prepared.Weights is { } w)
        {
            _weights = w;
        }
    }
}
