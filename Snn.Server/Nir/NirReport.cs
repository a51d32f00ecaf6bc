using System.Globalization;
using Snn.Protos.V1;

namespace Snn.Server.Nir;

/// <summary>Lines of an import or export report, and the number formatting they share.</summary>
internal static class NirReport
{
    public static NirConversion Note(string node, string becomes, string detail, bool lossy = false) =>
        new() { Node = node, Becomes = becomes, Detail = detail, Lossy = lossy };

    /// <summary>A float32 value as the shortest text that reads back to the same float ("0.9", "1E-05").</summary>
    public static string F(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static string D(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Values for a report line: one value, or the first few and the count.</summary>
    public static string Values(ReadOnlySpan<float> values)
    {
        if (values.Length == 0)
            return "[]";
        bool same = true;
        foreach (var v in values)
            same &= v.Equals(values[0]);
        if (same)
            return values.Length == 1 ? F(values[0]) : $"{F(values[0])} (all {values.Length})";
        var shown = new List<string>();
        for (int i = 0; i < Math.Min(3, values.Length); i++)
            shown.Add(F(values[i]));
        return $"[{string.Join(", ", shown)}{(values.Length > 3 ? $", ... ({values.Length} values)" : "")}]";
    }
}
