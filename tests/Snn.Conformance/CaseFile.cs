using System.Globalization;
using System.Text.Json;

namespace Snn.Conformance;

/// <summary>Helpers to read the reference JSON: nested number arrays as float32, parameters.</summary>
internal static class CaseFile
{
    public static float F(JsonElement e) => float.Parse(e.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>A [a][b][c] nested list as float[a][b][c].</summary>
    public static float[][][] Tensor3(JsonElement e) =>
        e.EnumerateArray().Select(b => b.EnumerateArray().Select(t => t.EnumerateArray().Select(F).ToArray()).ToArray()).ToArray();

    /// <summary>Any nested list flattened in row-major order.</summary>
    public static float[] Flatten(JsonElement e)
    {
        var values = new List<float>();
        Walk(e, values);
        return values.ToArray();

        static void Walk(JsonElement e, List<float> values)
        {
            if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (var x in e.EnumerateArray())
                {
                    Walk(x, values);
                }
            }
            else
            {
                values.Add(F(e));
            }
        }
    }

    public static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
