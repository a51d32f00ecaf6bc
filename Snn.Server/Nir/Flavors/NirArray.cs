namespace Snn.Server.Nir.Flavors;

/// <summary>
/// A parameter array computed the way NumPy computes it in a library's importer: a float32 array stays
/// float32 (a Python float meeting it is rounded to float32 first, NumPy's rule for scalars), a float64
/// array stays float64, and an operation between a float32 and a float64 array is float64. The values
/// are kept as doubles; a float32 array's are exactly float32 values.
/// </summary>
internal readonly struct NirArray
{
    private NirArray(double[] values, bool float64, bool scalar)
    {
        Values = values;
        IsFloat64 = float64;
        IsPythonScalar = scalar;
    }

    public double[] Values { get; }

    public bool IsFloat64 { get; }

    /// <summary>A Python float: takes the dtype of the array it meets.</summary>
    public bool IsPythonScalar { get; }

    public int Length => Values.Length;

    public static NirArray Of(NirTensor tensor) =>
        new(tensor.Doubles is { } d ? (double[])d.Clone() : Array.ConvertAll(tensor.Values, v => (double)v), tensor.WasFloat64, false);

    public static NirArray Python(double value) => new([value], true, true);

    /// <summary>A float32 array (torch.from_numpy(...).float(), torch.Tensor(...)).</summary>
    public NirArray ToFloat32() => new(Array.ConvertAll(Values, v => (double)(float)v), false, false);

    public static NirArray operator +(NirArray a, NirArray b) => Apply(a, b, (x, y) => x + y, (x, y) => x + y);

    public static NirArray operator -(NirArray a, NirArray b) => Apply(a, b, (x, y) => x - y, (x, y) => x - y);

    public static NirArray operator *(NirArray a, NirArray b) => Apply(a, b, (x, y) => x * y, (x, y) => x * y);

    public static NirArray operator /(NirArray a, NirArray b) => Apply(a, b, (x, y) => x / y, (x, y) => x / y);

    public static implicit operator NirArray(double python) => Python(python);

    private static NirArray Apply(NirArray a, NirArray b, Func<float, float, float> f32, Func<double, double, double> f64)
    {
        bool scalar = a.IsPythonScalar && b.IsPythonScalar;
        bool float64 = scalar || (a.IsPythonScalar ? b.IsFloat64 : b.IsPythonScalar ? a.IsFloat64 : a.IsFloat64 || b.IsFloat64);
        int n = Math.Max(a.Length, b.Length);
        if (a.Length != n && a.Length != 1 || b.Length != n && b.Length != 1)
            throw new ArgumentException($"arrays of {a.Length} and {b.Length} values do not broadcast");
        var result = new double[n];
        for (int i = 0; i < n; i++)
        {
            double x = a.Values[a.Length == 1 ? 0 : i], y = b.Values[b.Length == 1 ? 0 : i];
            result[i] = float64 ? f64(x, y) : f32((float)x, (float)y);
        }

        return new NirArray(result, float64, scalar);
    }

    /// <summary>np.unique(a).size == 1.</summary>
    public bool IsUniform
    {
        get
        {
            foreach (var v in Values)
            {
                if (!v.Equals(Values[0]))
                    return false;
            }

            return true;
        }
    }

    /// <summary>np.unique(a)[0]: the smallest value.</summary>
    public double Smallest => Values.Min();

    /// <summary>np.allclose(a, b): |a - b| &lt;= 1e-8 + 1e-5 |b| everywhere.</summary>
    public bool AllClose(NirArray b)
    {
        int n = Math.Max(Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            double x = Values[Length == 1 ? 0 : i], y = b.Values[b.Length == 1 ? 0 : i];
            if (!(Math.Abs(x - y) <= 1e-8 + 1e-5 * Math.Abs(y)))
                return false;
        }

        return true;
    }

    public bool AllEqual(double value) => Array.TrueForAll(Values, v => v == value);

    public float[] ToFloats() => Array.ConvertAll(Values, v => (float)v);
}
