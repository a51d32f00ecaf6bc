using System.Globalization;
using Snn.Protos.V1;

namespace Snn.Cli.Internal;

/// <summary>
/// Parses <c>--input</c> values: <c>population:indices[=value][@offset]</c>. The indices are a
/// comma-separated list of numbers and ranges <c>a-b</c> (both ends included); the one value, if
/// given, applies to every listed index (default 1); the offset is the step, counted from the
/// first step of the run (default 0). Examples: <c>in:0,5,9</c>, <c>in:0-99@3</c>,
/// <c>in:0,2=1.5@0</c> (neurons 0 and 2 each get 1.5). Different values are different
/// <c>--input</c>s: <c>in:0=1.5 in:2=3</c>.
/// </summary>
internal static class InputSyntax
{
    public const string Help = "population:indices[=value][@offset]; indices are a list such as 0,2,5-9, the value (default 1) applies to every listed index";

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
        int at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            var offsetText = rest[(at + 1)..];
            if (!uint.TryParse(offsetText, NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
            {
                throw Bad(text, $"offset '{offsetText}' is not a non-negative integer");
            }

            input.Offset = offset;
            rest = rest[..at];
        }

        float? value = null;
        int eq = rest.IndexOf('=', StringComparison.Ordinal);
        if (eq >= 0)
        {
            var valueText = rest[(eq + 1)..];
            if (valueText.Contains(',', StringComparison.Ordinal) || valueText.Contains('=', StringComparison.Ordinal))
            {
                throw Bad(text, "one value goes after all the indices and applies to each of them; give different values as separate --input options (in:0=1.5 in:2=3)");
            }

            if (!float.TryParse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !float.IsFinite(v))
            {
                throw Bad(text, $"value '{valueText}' is not a finite number");
            }

            value = v;
            rest = rest[..eq];
        }

        if (rest.Length == 0)
        {
            throw Bad(text, "no neuron indices");
        }

        foreach (var item in rest.Split(',', StringSplitOptions.TrimEntries))
        {
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
            }
        }

        if (value is { } each && each != 1f)
        {
            input.Values.Add(Enumerable.Repeat(each, input.Indices.Count));
        }

        return input;
    }

    /// <summary>Checks that every input falls within the run's <paramref name="steps"/> steps (offsets 0 .. steps-1).</summary>
    public static void CheckOffsets(IReadOnlyList<string> texts, IReadOnlyList<Input> inputs, uint steps)
    {
        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Offset >= steps)
            {
                throw new CliException(string.Create(CultureInfo.InvariantCulture,
                    $"--input '{texts[i]}': offset {inputs[i].Offset} is past the last step of this run; with --steps {steps} the offsets are 0 to {steps - 1} (raise --steps, or send it in a later run)"));
            }
        }
    }

    private static uint Index(string text, string item) =>
        uint.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw Bad(text, $"index '{item}' is not a non-negative integer");

    private static CliException Bad(string text, string why) => new($"--input '{text}': {why} (format: {Help})");
}
