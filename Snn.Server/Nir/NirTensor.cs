namespace Snn.Server.Nir;

/// <summary>
/// A parameter array of a NIR node: its values as float32 in row-major order and its shape (empty for a
/// scalar). <see cref="WasFloat64"/> says the file held float64, so the values were rounded to float32
/// (the import report states that conversion).
/// </summary>
internal sealed record NirTensor(float[] Values, int[] Shape, bool WasFloat64)
{
    /// <summary>The values as stored where the file held float64 (null otherwise): importers compute in the file's dtype.</summary>
    public double[]? Doubles { get; init; }

    public int Rank => Shape.Length;

    /// <summary>The shape as NIR writes it, e.g. "[3, 4]" or "[]" for a scalar.</summary>
    public string ShapeText => NirShapes.Format(Shape);

    public bool SameShape(NirTensor other) => Shape.AsSpan().SequenceEqual(other.Shape);
}

internal static class NirShapes
{
    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
}
