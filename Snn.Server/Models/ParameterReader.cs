using System.Globalization;

namespace Snn.Server.Models;

/// <summary>An allowed interval of a number parameter; its text is what the catalogue shows.</summary>
internal readonly record struct NumberRange(float Min, float Max, bool MinOpen, bool MaxOpen)
{
    /// <summary>Any finite float32.</summary>
    public static readonly NumberRange Any = new(float.NegativeInfinity, float.PositiveInfinity, true, true);

    /// <summary>&gt; 0.</summary>
    public static readonly NumberRange Positive = new(0f, float.PositiveInfinity, true, true);

    /// <summary>[0, 1].</summary>
    public static readonly NumberRange Unit = new(0f, 1f, false, false);

    /// <summary>(0, 1).</summary>
    public static readonly NumberRange OpenUnit = new(0f, 1f, true, true);

    public bool Contains(float value) =>
        (MinOpen ? value > Min : value >= Min) && (MaxOpen ? value < Max : value <= Max);

    public override string ToString()
    {
        bool noMin = float.IsNegativeInfinity(Min), noMax = float.IsPositiveInfinity(Max);
        if (noMin && noMax)
        {
            return "any finite number";
        }

        if (noMax)
        {
            return (MinOpen ? "> " : ">= ") + Text(Min);
        }

        if (noMin)
        {
            return (MaxOpen ? "< " : "<= ") + Text(Max);
        }

        return $"{(MinOpen ? '(' : '[')}{Text(Min)}, {Text(Max)}{(MaxOpen ? ')' : ']')}";
    }

    public static string Text(float value) => value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>Builds catalogue entries so that the shown range is the one validated.</summary>
internal static class Describe
{
    public static ParameterDescriptor Number(string name, string defaultText, NumberRange range, bool perNeuron, string description) =>
        new(name, ParamKind.Number, defaultText, range.ToString(), [], perNeuron, description);

    /// <summary>A number whose accepted values need more words than the range (e.g. clamped values).</summary>
    public static ParameterDescriptor Number(string name, string defaultText, string rangeText, bool perNeuron, string description) =>
        new(name, ParamKind.Number, defaultText, rangeText, [], perNeuron, description);

    public static ParameterDescriptor Choice(string name, string defaultText, IReadOnlyList<string> choices, string description) =>
        new(name, ParamKind.Choice, defaultText, "", choices, false, description);

    public static ParameterDescriptor Flag(string name, bool defaultValue, string description) =>
        new(name, ParamKind.Flag, defaultValue ? "true" : "false", "", [], false, description);
}

/// <summary>A float32 value that is one scalar for the whole population or one value per neuron.</summary>
internal readonly struct NeuronValues
{
    private NeuronValues(float scalar, float[]? perNeuron)
    {
        Scalar = scalar;
        PerNeuron = perNeuron;
    }

    /// <summary>The value when <see cref="PerNeuron"/> is null.</summary>
    public float Scalar { get; }

    public float[]? PerNeuron { get; }

    public bool IsScalar => PerNeuron is null;

    public float At(int neuron) => PerNeuron is null ? Scalar : PerNeuron[neuron];

    public static NeuronValues Of(float scalar) => new(scalar, null);

    public static NeuronValues Of(float[] perNeuron) => new(0f, perNeuron);

    /// <summary>Applies <paramref name="f"/> element-wise (once for a scalar).</summary>
    public NeuronValues Map(Func<float, float> f)
    {
        if (PerNeuron is null)
        {
            return Of(f(Scalar));
        }

        var result = new float[PerNeuron.Length];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = f(PerNeuron[i]);
        }

        return Of(result);
    }

    /// <summary>Combines two values element-wise; per-neuron if either is.</summary>
    public static NeuronValues Zip(NeuronValues a, NeuronValues b, int size, Func<float, float, float> f)
    {
        if (a.IsScalar && b.IsScalar)
        {
            return Of(f(a.Scalar, b.Scalar));
        }

        var result = new float[size];
        for (int i = 0; i < size; i++)
        {
            result[i] = f(a.At(i), b.At(i));
        }

        return Of(result);
    }

    /// <summary>The first neuron index whose value fails <paramref name="ok"/>, or -1.</summary>
    public int FirstFailing(Func<float, bool> ok)
    {
        if (PerNeuron is null)
        {
            return ok(Scalar) ? -1 : 0;
        }

        for (int i = 0; i < PerNeuron.Length; i++)
        {
            if (!ok(PerNeuron[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The value at a failing index, as text for an error message.</summary>
    public string Describe(int index) => PerNeuron is null
        ? NumberRange.Text(Scalar)
        : $"{NumberRange.Text(PerNeuron[index])} (neuron {index})";
}

/// <summary>
/// Reads and validates a population's parameters against its model's catalogue. Every failure is a
/// <see cref="ModelParameterException"/> that names the parameter, the value and what is allowed.
/// Numbers are rounded to float32 first, as the libraries store them.
/// </summary>
internal sealed class ParameterReader
{
    private readonly NeuronModel _model;
    private readonly IReadOnlyDictionary<string, ParamValue> _given;
    private readonly int _size;

    public ParameterReader(NeuronModel model, IReadOnlyDictionary<string, ParamValue> given, int size)
    {
        _model = model;
        _given = given;
        _size = size;
        foreach (var name in given.Keys)
        {
            if (Find(name) is null)
            {
                string known = string.Join(", ", model.Parameters.Select(p => p.Name));
                throw new ModelParameterException(name,
                    $"model '{model.Name}' has no parameter '{name}'; its parameters are: {known}");
            }
        }
    }

    /// <summary>Whether the client gave the parameter (an explicit "none" counts as not given).</summary>
    public bool Has(string name) =>
        _given.TryGetValue(name, out var v) && !(v.Kind == ParamKind.Choice && v.Text == "none");

    /// <summary>A number that must be one value for the population.</summary>
    public float Scalar(string name, float defaultValue, NumberRange range)
    {
        var values = Values(name, defaultValue, range);
        if (!values.IsScalar)
        {
            throw Error(name, $"parameter '{name}' of model '{_model.Name}' takes one value, not one per neuron");
        }

        return values.Scalar;
    }

    /// <summary>A number given as a scalar or per neuron (if the catalogue allows it).</summary>
    public NeuronValues Values(string name, float defaultValue, NumberRange range) =>
        OptionalValues(name, range) ?? NeuronValues.Of(defaultValue);

    /// <summary>A number whose library default is None: null when not given.</summary>
    public NeuronValues? OptionalValues(string name, NumberRange range)
    {
        var descriptor = Find(name) ?? throw new InvalidOperationException($"'{name}' is not in the catalogue of {_model.Name}");
        if (!Has(name))
        {
            return null;
        }

        var value = _given[name];
        if (value.Kind != ParamKind.Number)
        {
            throw Error(name, $"parameter '{name}' of model '{_model.Name}' must be a number ({range}), got {Kind(value)} '{value}'");
        }

        if (value.PerNeuron is { } perNeuron)
        {
            if (!descriptor.PerNeuron)
            {
                throw Error(name, $"parameter '{name}' of model '{_model.Name}' takes one value, not one per neuron");
            }

            if (perNeuron.Length != _size)
            {
                throw Error(name, $"parameter '{name}' has {perNeuron.Length} per-neuron values; the population has {_size} neurons");
            }

            var copy = (float[])perNeuron.Clone();
            for (int i = 0; i < copy.Length; i++)
            {
                Check(name, copy[i], range, $" (neuron {i})");
            }

            return NeuronValues.Of(copy);
        }

        if (!double.IsFinite(value.Scalar) || !float.IsFinite((float)value.Scalar))
        {
            throw Error(name, $"parameter '{name}' = {value} is not a finite float32 number; allowed: {range}");
        }

        float f = (float)value.Scalar;
        Check(name, f, range, "");
        return NeuronValues.Of(f);
    }

    /// <summary>One of the catalogue's choices.</summary>
    public string Choice(string name, string defaultValue)
    {
        var descriptor = Find(name) ?? throw new InvalidOperationException($"'{name}' is not in the catalogue of {_model.Name}");
        if (!_given.TryGetValue(name, out var value))
        {
            return defaultValue;
        }

        if (value.Kind != ParamKind.Choice || value.Text is null || !descriptor.Choices.Contains(value.Text, StringComparer.Ordinal))
        {
            throw Error(name, $"parameter '{name}' of model '{_model.Name}' must be one of: {string.Join(", ", descriptor.Choices.Select(c => $"\"{c}\""))}; got {Kind(value)} '{value}'");
        }

        return value.Text;
    }

    /// <summary>A yes/no switch.</summary>
    public bool Flag(string name, bool defaultValue)
    {
        if (!_given.TryGetValue(name, out var value))
        {
            return defaultValue;
        }

        if (value.Kind != ParamKind.Flag)
        {
            throw Error(name, $"parameter '{name}' of model '{_model.Name}' must be a flag (true or false), got {Kind(value)} '{value}'");
        }

        return value.Flag;
    }

    /// <summary>
    /// A parameter the library fixes for this model (e.g. sinabs IAF's norm_input): accepted when it
    /// has the fixed value, so networks exported with uniform parameter sets load; refused otherwise.
    /// </summary>
    public void RequireFixed(string name, float value, string why)
    {
        if (Has(name) && Scalar(name, value, NumberRange.Any) != value)
        {
            throw Error(name, $"parameter '{name}' of model '{_model.Name}' is fixed at {NumberRange.Text(value)}: {why}");
        }
    }

    /// <summary>A flag the library fixes for this model; see <see cref="RequireFixed(string, float, string)"/>.</summary>
    public void RequireFixed(string name, bool value, string why)
    {
        if (Flag(name, value) != value)
        {
            throw Error(name, $"parameter '{name}' of model '{_model.Name}' is fixed at {(value ? "true" : "false")}: {why}");
        }
    }

    /// <summary>An error about <paramref name="name"/> found after reading (relations between parameters, derived constants).</summary>
    public ModelParameterException Error(string name, string message) => new(name, message);

    /// <summary>Checks that a derived constant is finite; names the parameters it comes from.</summary>
    public void RequireFinite(NeuronValues derived, string parameter, string what)
    {
        int bad = derived.FirstFailing(float.IsFinite);
        if (bad >= 0)
        {
            throw Error(parameter, $"parameter '{parameter}' of model '{_model.Name}' gives {what} = {derived.Describe(bad)}, which is not finite; choose other values");
        }
    }

    private void Check(string name, float value, NumberRange range, string where)
    {
        if (!float.IsFinite(value))
        {
            throw Error(name, $"parameter '{name}' = {NumberRange.Text(value)}{where} is not finite; allowed: {range}");
        }

        if (!range.Contains(value))
        {
            throw Error(name, $"parameter '{name}' = {NumberRange.Text(value)}{where} is out of range; allowed: {range}");
        }
    }

    private ParameterDescriptor? Find(string name)
    {
        foreach (var p in _model.Parameters)
        {
            if (p.Name == name)
            {
                return p;
            }
        }

        return null;
    }

    private static string Kind(ParamValue v) => v.Kind switch
    {
        ParamKind.Number => v.IsPerNeuron ? "per-neuron numbers" : "number",
        ParamKind.Choice => "choice",
        _ => "flag",
    };
}

/// <summary>
/// Derived constants in float32, as torch computes them from float32 tensors: the transcendental
/// is evaluated in double and rounded once, which gives the correctly rounded float32 result.
/// </summary>
internal static class Float32
{
    public static float Exp(float x) => (float)Math.Exp(x);

    public static float Log(float x) => (float)Math.Log(x);
}
