using System.Globalization;
using Snn.Protos.V1;

namespace Snn.Cli.Internal;

/// <summary>
/// Parses <c>--input</c> values: <c>population:index[,index...][@offset]</c>, where an index is a
/// number or a range <c>a-b</c> (both ends included) and may carry a value, <c>index=value</c>
/// (default 1). Examples: <c>in:0,5,9</c>, <c>in:0-99@3</c>, <c>in:4=2.5@0</c>.
/// </summary>
internal static class InputSyntax
{
    public const string Help = "population:index[,index...][@offset]; an index may be a range a-b or carry a value i=v";

    public static Input Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw Bad(text, "expected population:indices");
        }

        var input = new Input { Population = text[..colon] };
        var rest = text[(colon + 1)..];
        int at = rest.LastIndexOf('@');
        if (at >= 0)
        {
            if (!uint.TryParse(rest[(at + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
            {
                throw Bad(text, $"offset '{rest[(at + 1)..]}' is not a non-negative integer");
            }

            input.Offset = offset;
            rest = rest[..at];
        }

        if (rest.Length == 0)
        {
            throw Bad(text, "no neuron indices");
        }

        var values = new List<float>();
        bool anyValue = false;
        foreach (var part in rest.Split(',', StringSplitOptions.TrimEntries))
        {
            var item = part;
            float value = 1f;
            int eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                if (!float.TryParse(item[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out value) || !float.IsFinite(value))
                {
                    throw Bad(text, $"value '{item[(eq + 1)..]}' is not a finite number");
                }

                anyValue = true;
                item = item[..eq];
            }

            int dash = item.IndexOf('-', StringComparison.Ordinal);
            uint first, last;
            if (dash > 0)
            {
                first = Index(text, item[..dash]);
                last = Index(text, item[(dash + 1)..]);
                if (last < first)
                {
                    throw Bad(text, $"range '{item}' ends before it starts");
                }
            }
            else
            {
                first = last = Index(text, item);
            }

            for (ulong n = first; n <= last; n++)
            {
                input.Indices.Add((uint)n);
                values.Add(value);
            }
        }

        if (anyValue)
        {
            input.Values.Add(values);
        }

        return input;
    }

    private static uint Index(string text, string item) =>
        uint.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw Bad(text, $"index '{item}' is not a non-negative integer");

    private static CliException Bad(string text, string why) => new($"--input '{text}': {why} (format: {Help})");
}
