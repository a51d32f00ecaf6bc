using System.Globalization;
using System.Text;

namespace Snn.FunctionalTests.Api;

/// <summary>
/// A strict parser of the Prometheus text exposition format (version 0.0.4): every line must be a
/// HELP or TYPE line, a comment, or a sample; names and label names must be valid; label values must
/// be properly quoted and escaped; values must be numbers (or NaN, ±Inf); a family's TYPE and HELP come
/// once and before its samples; families are not interleaved; no series repeats; and each histogram's
/// buckets rise with <c>le</c>, are cumulative, end at <c>+Inf</c> equal to <c>_count</c>, and have a <c>_sum</c>.
/// Any violation throws <see cref="FormatException"/> naming the line.
/// </summary>
internal sealed class PrometheusText
{
    private static readonly string[] Types = ["counter", "gauge", "histogram", "summary", "untyped"];

    private PrometheusText()
    {
    }

    public Dictionary<string, Family> Families { get; } = new(StringComparer.Ordinal);

    public sealed class Family(string name)
    {
        public string Name { get; } = name;

        public string? Type { get; set; }

        public string? Help { get; set; }

        public List<Sample> Samples { get; } = [];
    }

    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
    {
        public string Label(string name) => Labels.TryGetValue(name, out var v) ? v : throw new KeyNotFoundException($"{Name} has no label {name}");
    }

    /// <summary>The one sample named <paramref name="name"/> (of any family).</summary>
    public Sample Single(string name) =>
        Families.Values.SelectMany(f => f.Samples).Where(s => s.Name == name).ToList() switch
        {
            [var one] => one,
            var many => throw new InvalidOperationException($"{many.Count} samples named {name}"),
        };

    /// <summary>The value of the one sample named <paramref name="name"/>.</summary>
    public double Value(string name) => Single(name).Value;

    /// <summary>The value of the one sample named <paramref name="name"/>, or 0 where there is none (a histogram before its first measurement).</summary>
    public double ValueOrZero(string name) =>
        Families.Values.SelectMany(f => f.Samples).Any(s => s.Name == name) ? Value(name) : 0;

    public static PrometheusText Parse(string text)
    {
        var result = new PrometheusText();
        if (text.Length > 0 && !text.EndsWith('\n'))
        {
            throw new FormatException("the exposition does not end with a line feed");
        }

        var lines = text.Split('\n');
        Family? current = null;
        var finished = new HashSet<string>(StringComparer.Ordinal);
        var series = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < lines.Length - 1; i++)
        {
            string line = lines[i];
            string where = $"line {i + 1} '{line}'";
            if (line.Length == 0)
            {
                continue; // blank lines are allowed and ignored
            }

            if (line.Contains('\r', StringComparison.Ordinal))
            {
                throw new FormatException($"{where}: carriage return");
            }

            if (line[0] == '#')
            {
                var parts = line.Split(' ', 4);
                if (parts.Length >= 3 && parts[0] == "#" && parts[1] is "HELP" or "TYPE")
                {
                    string name = parts[2];
                    RequireMetricName(name, where);
                    var family = Enter(result, ref current, finished, name, where);
                    if (parts[1] == "TYPE")
                    {
                        if (parts.Length != 4 || !Types.Contains(parts[3]))
                        {
                            throw new FormatException($"{where}: bad type");
                        }

                        if (family.Type is not null || family.Samples.Count > 0)
                        {
                            throw new FormatException($"{where}: TYPE repeated or after samples");
                        }

                        family.Type = parts[3];
                    }
                    else
                    {
                        if (family.Help is not null)
                        {
                            throw new FormatException($"{where}: HELP repeated");
                        }

                        family.Help = parts.Length == 4 ? Unescape(parts[3], help: true, where) : string.Empty;
                    }
                }

                continue; // any other comment
            }

            var sample = ParseSample(line, where);
            string familyName = FamilyOf(result, sample.Name);
            var owner = Enter(result, ref current, finished, familyName, where);
            if (owner.Type is "histogram" && familyName == sample.Name)
            {
                throw new FormatException($"{where}: a histogram sample must be _bucket, _sum or _count");
            }

            string key = sample.Name + "{" + string.Join(",", sample.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")) + "}";
            if (!series.Add(key))
            {
                throw new FormatException($"{where}: series repeated");
            }

            owner.Samples.Add(sample);
        }

        foreach (var family in result.Families.Values.Where(f => f.Type == "histogram"))
        {
            CheckHistogram(family);
        }

        return result;
    }

    /// <summary>The family a sample belongs to: its own name, or a typed histogram/summary's base name.</summary>
    private static string FamilyOf(PrometheusText result, string sample)
    {
        foreach (string suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (sample.EndsWith(suffix, StringComparison.Ordinal)
                && result.Families.TryGetValue(sample[..^suffix.Length], out var f) && f.Type is "histogram" or "summary")
            {
                return f.Name;
            }
        }

        return sample;
    }

    private static Family Enter(PrometheusText result, ref Family? current, HashSet<string> finished, string name, string where)
    {
        if (current?.Name == name)
        {
            return current;
        }

        if (current is not null)
        {
            finished.Add(current.Name);
        }

        if (finished.Contains(name))
        {
            throw new FormatException($"{where}: family {name} interleaved with another");
        }

        current = new Family(name);
        result.Families.Add(name, current);
        return current;
    }

    private static void CheckHistogram(Family family)
    {
        var groups = family.Samples.GroupBy(s => string.Join(",", s.Labels.Where(l => l.Key != "le").OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")));
        foreach (var group in groups)
        {
            string what = $"histogram {family.Name}{{{group.Key}}}";
            var buckets = group.Where(s => s.Name == family.Name + "_bucket").ToList();
            var sums = group.Where(s => s.Name == family.Name + "_sum").ToList();
            var counts = group.Where(s => s.Name == family.Name + "_count").ToList();
            if (buckets.Count == 0 || sums.Count != 1 || counts.Count != 1)
            {
                throw new FormatException($"{what}: needs buckets, one _sum and one _count");
            }

            double previousLe = double.NegativeInfinity, previousCount = 0;
            foreach (var bucket in buckets)
            {
                double le = ParseValue(bucket.Label("le"), what);
                if (!(le > previousLe))
                {
                    throw new FormatException($"{what}: le {le} does not rise");
                }

                if (bucket.Value < previousCount || bucket.Value != Math.Floor(bucket.Value))
                {
                    throw new FormatException($"{what}: bucket le={le} is {bucket.Value}, not a cumulative count");
                }

                previousLe = le;
                previousCount = bucket.Value;
            }

            if (!double.IsPositiveInfinity(previousLe))
            {
                throw new FormatException($"{what}: the last bucket is not +Inf");
            }

            if (previousCount != counts[0].Value)
            {
                throw new FormatException($"{what}: +Inf bucket {previousCount} differs from _count {counts[0].Value}");
            }

            if (counts[0].Value > 0 && double.IsNaN(sums[0].Value))
            {
                throw new FormatException($"{what}: _sum is NaN");
            }
        }
    }

    private static Sample ParseSample(string line, string where)
    {
        int at = 0;
        while (at < line.Length && IsNameChar(line[at], at == 0, colon: true))
        {
            at++;
        }

        string name = line[..at];
        RequireMetricName(name, where);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (at < line.Length && line[at] == '{')
        {
            at++;
            while (true)
            {
                if (at < line.Length && line[at] == '}')
                {
                    at++;
                    break;
                }

                int start = at;
                while (at < line.Length && IsNameChar(line[at], at == start, colon: false))
                {
                    at++;
                }

                string label = line[start..at];
                if (label.Length == 0 || label.StartsWith("__", StringComparison.Ordinal))
                {
                    throw new FormatException($"{where}: bad label name at {start}");
                }

                if (at + 1 >= line.Length || line[at] != '=' || line[at + 1] != '"')
                {
                    throw new FormatException($"{where}: expected =\" after label {label}");
                }

                at += 2;
                var value = new StringBuilder();
                while (true)
                {
                    if (at >= line.Length)
                    {
                        throw new FormatException($"{where}: unterminated label value");
                    }

                    char c = line[at++];
                    if (c == '"')
                    {
                        break;
                    }

                    if (c == '\\')
                    {
                        if (at >= line.Length)
                        {
                            throw new FormatException($"{where}: dangling escape");
                        }

                        value.Append(line[at++] switch
                        {
                            '\\' => '\\',
                            '"' => '"',
                            'n' => '\n',
                            var other => throw new FormatException($"{where}: bad escape \\{other}"),
                        });
                    }
                    else
                    {
                        value.Append(c);
                    }
                }

                if (!labels.TryAdd(label, value.ToString()))
                {
                    throw new FormatException($"{where}: label {label} repeated");
                }

                if (at < line.Length && line[at] == ',')
                {
                    at++;
                }
                else if (at >= line.Length || line[at] != '}')
                {
                    throw new FormatException($"{where}: expected , or }} after a label");
                }
            }
        }

        if (at >= line.Length || line[at] != ' ')
        {
            throw new FormatException($"{where}: expected one space before the value");
        }

        var rest = line[(at + 1)..].Split(' ');
        if (rest.Length is < 1 or > 2)
        {
            throw new FormatException($"{where}: expected a value and an optional timestamp");
        }

        double number = ParseValue(rest[0], where);
        if (rest.Length == 2 && !long.TryParse(rest[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
        {
            throw new FormatException($"{where}: bad timestamp");
        }

        return new Sample(name, labels, number);
    }

    private static double ParseValue(string text, string where) => text switch
    {
        "+Inf" or "Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ when text.Length > 0 && double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
            CultureInfo.InvariantCulture, out double v) => v,
        _ => throw new FormatException($"{where}: bad value '{text}'"),
    };

    private static void RequireMetricName(string name, string where)
    {
        if (name.Length == 0 || !name.Select((c, i) => IsNameChar(c, i == 0, colon: true)).All(ok => ok))
        {
            throw new FormatException($"{where}: bad metric name '{name}'");
        }
    }

    private static bool IsNameChar(char c, bool first, bool colon) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_' || (colon && c == ':') || (!first && c is >= '0' and <= '9');

    /// <summary>HELP text: only \\ and \n are escapes.</summary>
    private static string Unescape(string text, bool help, string where)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != '\\')
            {
                sb.Append(text[i]);
                continue;
            }

            if (++i >= text.Length)
            {
                throw new FormatException($"{where}: dangling escape");
            }

            sb.Append(text[i] switch
            {
                '\\' => '\\',
                'n' => '\n',
                '"' when !help => '"',
                var other => throw new FormatException($"{where}: bad escape \\{other}"),
            });
        }

        return sb.ToString();
    }
}
