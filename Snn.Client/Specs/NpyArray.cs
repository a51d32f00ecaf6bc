namespace Snn.Client.Specs;

/// <summary>
/// An array read from a NumPy <c>.npy</c> file: its shape, its dtype as NumPy wrote it (e.g. <c>&lt;f4</c>)
/// and its values in C (row-major) order, held as <see cref="float"/>, <see cref="double"/>,
/// <see cref="int"/> or <see cref="long"/> as the file stores them.
/// </summary>
public sealed class NpyArray
{
    internal NpyArray(string descr, int[] shape, Array values)
    {
        Descr = descr;
        Shape = shape;
        Values = values;
    }

    /// <summary>The dtype string of the header, e.g. <c>&lt;f4</c>, <c>&lt;f8</c>, <c>&lt;i4</c>, <c>&lt;i8</c>.</summary>
    public string Descr { get; }

    /// <summary>The shape; empty for a 0-d array (one value).</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>The values in C order: a <c>float[]</c>, <c>double[]</c>, <c>int[]</c> or <c>long[]</c>.</summary>
    public Array Values { get; }

    /// <summary>Number of values (the product of the shape).</summary>
    public int Length => Values.Length;

    /// <summary>Whether the values are integers (<c>i4</c>, <c>i8</c>).</summary>
    public bool IsInteger => Values is int[] or long[];

    /// <summary>The shape as NumPy prints it, e.g. <c>(3, 4)</c> or <c>(5,)</c>.</summary>
    public string ShapeText => Shape.Count == 1 ? $"({Shape[0]},)" : $"({string.Join(", ", Shape)})";

    /// <summary>The values as float32: doubles are rounded to the nearest float, integers converted.</summary>
    public float[] ToSingles() => Values switch
    {
        float[] f => f,
        double[] d => Array.ConvertAll(d, v => (float)v),
        int[] i => Array.ConvertAll(i, v => (float)v),
        long[] l => Array.ConvertAll(l, v => (float)v),
        _ => throw new InvalidOperationException("unsupported values"),
    };

    /// <summary>The values as 64-bit integers; only for integer arrays (<see cref="IsInteger"/>).</summary>
    public long[] ToInt64s() => Values switch
    {
        int[] i => Array.ConvertAll(i, v => (long)v),
        long[] l => l,
        _ => throw new InvalidOperationException($"a {Descr} array holds no integers"),
    };
}
