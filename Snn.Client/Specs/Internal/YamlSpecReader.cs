using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Snn.Client.Specs.Internal;

/// <summary>
/// Reads YAML (YamlDotNet's representation model) into <see cref="SpecNode"/>s, resolving plain
/// scalars by YAML 1.2's core schema (null, booleans, integers, floats), with each node's mark.
/// </summary>
internal static partial class YamlSpecReader
{
    public static SpecNode Read(string text, string file)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            string message = e.InnerException is YamlException inner ? inner.Message : e.Message;
            throw new NetworkSpecException(file, (int)e.Start.Line, null, $"invalid YAML: {message}");
        }

        if (stream.Documents.Count == 0)
        {
            throw new NetworkSpecException(file, 1, null, "the file is empty; it needs a NetworkSpec mapping");
        }

        if (stream.Documents.Count > 1)
        {
            throw new NetworkSpecException(file, (int)stream.Documents[1].RootNode.Start.Line, null, "the file holds more than one YAML document; put one NetworkSpec in a file");
        }

        return Convert(stream.Documents[0].RootNode, file, 0);
    }

    private static SpecNode Convert(YamlNode node, string file, int depth)
    {
        int line = (int)node.Start.Line;
        if (depth > 64)
        {
            throw new NetworkSpecException(file, line, null, "the document nests deeper than 64 levels");
        }

        switch (node)
        {
            case YamlMappingNode mapping:
                var obj = new SpecNode(SpecNodeKind.Object, line);
                foreach (var (keyNode, child) in mapping.Children)
                {
                    if (keyNode is not YamlScalarNode { Value: { } key })
                    {
                        throw new NetworkSpecException(file, (int)keyNode.Start.Line, null, "a mapping key must be a plain name");
                    }

                    // YamlStream.Load rejects a key given twice already.
                    obj.Members.Add((key, (int)keyNode.Start.Line, Convert(child, file, depth + 1)));
                }

                return obj;
            case YamlSequenceNode sequence:
                var array = new SpecNode(SpecNodeKind.Array, line);
                foreach (var item in sequence.Children)
                {
                    array.Items.Add(Convert(item, file, depth + 1));
                }

                return array;
            case YamlScalarNode scalar:
                string value = scalar.Value ?? "";
                if (scalar.Style is not ScalarStyle.Plain)
                {
                    return new SpecNode(SpecNodeKind.String, line, value);
                }

                var kind = value switch
                {
                    "" or "~" or "null" or "Null" or "NULL" => SpecNodeKind.Null,
                    "true" or "True" or "TRUE" or "false" or "False" or "FALSE" => SpecNodeKind.Bool,
                    _ when YamlNumber().IsMatch(value) => SpecNodeKind.Number,
                    _ => SpecNodeKind.String,
                };
                string? text = kind switch
                {
                    SpecNodeKind.Bool => value.ToLowerInvariant(),
                    SpecNodeKind.Number => NormalizeNumber(value),
                    _ => value,
                };
                return new SpecNode(kind, line, text) { PlainScalar = true };
            default:
                throw new NetworkSpecException(file, line, null, "unsupported YAML node");
        }
    }

    /// <summary>YAML's .inf / .nan spellings as the names protobuf JSON takes ("Infinity", "NaN").</summary>
    private static string NormalizeNumber(string value) => value.ToLowerInvariant() switch
    {
        ".inf" or "+.inf" => "Infinity",
        "-.inf" => "-Infinity",
        ".nan" => "NaN",
        _ => value,
    };

    [GeneratedRegex(@"^([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$")]
    private static partial Regex YamlNumber();
}
