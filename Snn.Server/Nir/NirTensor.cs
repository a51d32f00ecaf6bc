namespace Snn.Server.Nir;

/// <summary>
/// A parameter array of a NIR node: its values as float32 in row-major order and its shape (empty for a
/// scalar). <see cref="WasFloat64"/> says the file held float64; then <see cref="Doubles"/> holds the values
/// exactly as stored, so that whatever is computed from them (a decay from τ and dt) can be computed in the
/// file's precision, as numpy does on float64 arrays, and a float64 tensor writes back unchanged.
/// </summary>
internal sealed record NirTensor(float[] Values, int[] Shape, bool WasFloat64)
{
    /// <summary>A float64 tensor: <see cref="Values"/> are the doubles rounded to float32.</summary>
    public NirTensor(double[] doubles, int[] shape)
        : this(Narrow(doubles), shape, true) => Doubles = doubles;

    /// <summary>
    /// The values as the file stored them, non-null exactly when <see cref="WasFloat64"/> (set it only with
    /// float64 values whose float32 rounding is <see cref="Values"/>). A float64 tensor built from float32
    /// values (no doubles given) holds those values widened.
    /// </summary>
    public double[]? Doubles { get; init; } = WasFloat64 ? Array.ConvertAll(Values, v => (double)v) : null;

    public int Rank => Shape.Length;

    /// <summary>The shape as NIR writes it, e.g. "[3, 4]" or "[]" for a scalar.</summary>
    public string ShapeText => NirShapes.Format(Shape);

    public bool SameShape(NirTensor other) => Shape.AsSpan().SequenceEqual(other.Shape);

    private static float[] Narrow(double[] doubles)
    {
        var values = new float[doubles.Length];
        for (var i = 0; i < doubles.Length; i++)
            values[i] = (float)doubles[i];
        return values;
    }
}

internal static class NirShapes
{
    public static string Format(ReadOnlySpan<int> shape) => shape.Length <= 8
        ? "[" + string.Join(", ", shape.ToArray()) + "]"
        : "[" + string.Join(", ", shape[..8].ToArray()) + $", ... ({shape.Length} numbers)]"; // a damaged file's list must not flood the message
}
