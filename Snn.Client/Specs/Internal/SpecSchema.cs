using System.Globalization;
using System.Text.Json;
using Google.Protobuf.Reflection;

namespace Snn.Client.Specs.Internal;

/// <summary>
/// Maps a <see cref="SpecNode"/> document onto a protobuf message's descriptor and writes it out as
/// protobuf JSON, so that <c>JsonParser</c> reads JSON and YAML files alike (one schema). On the way
/// it checks each field's name and type, so a mistake names its line and field path (proto names,
/// as the server's messages do), replaces <c>{npy: FILE}</c> with the file's values, and records
/// the line of every field for mapping the server's errors back.
/// </summary>
internal sealed class SpecSchema(string file, string baseDirectory, Dictionary<string, int> lines, List<string> warnings)
{
    /// <summary>The key of the one-member object that stands for a list of numbers read from a .npy file.</summary>
    public const string NpyKey = "npy";

    public void WriteMessage(Utf8JsonWriter writer, SpecNode node, MessageDescriptor descriptor, string path)
    {
        if (node.Kind != SpecNodeKind.Object)
        {
            throw Error(node.Line, path, $"expected a mapping of {descriptor.Name} fields, found {node.KindName}");
        }

        writer.WriteStartObject();
        var oneofs = new Dictionary<OneofDescriptor, string>();
        foreach (var (key, keyLine, value) in node.Members)
        {
            var field = descriptor.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == key || f.Name == key);
            if (field is null)
            {
                string known = string.Join(", ", descriptor.Fields.InDeclarationOrder().Select(f => f.Name));
                throw Error(keyLine, Join(path, key), $"unknown field; {descriptor.Name} has {known}");
            }

            string fieldPath = Join(path, field.Name);
            lines.TryAdd(fieldPath, keyLine);
            if (value.Kind == SpecNodeKind.Null)
            {
                continue;
            }

            if (field.RealContainingOneof is { } oneof)
            {
                if (oneofs.TryGetValue(oneof, out var other))
                {
                    throw Error(keyLine, fieldPath, $"{other} is set already; a {descriptor.Name} has one {oneof.Name} ({string.Join(", ", oneof.Fields.Select(f => f.Name))})");
                }

                oneofs[oneof] = field.Name;
            }

            writer.WritePropertyName(field.JsonName);
            if (field.IsMap)
            {
                WriteMap(writer, value, field, fieldPath);
            }
            else if (field.IsRepeated)
            {
                WriteList(writer, value, field, fieldPath);
            }
            else
            {
                WriteValue(writer, value, field, fieldPath);
            }
        }

        writer.WriteEndObject();
    }

    private void WriteMap(Utf8JsonWriter writer, SpecNode node, FieldDescriptor field, string path)
    {
        if (node.Kind != SpecNodeKind.Object)
        {
            throw Error(node.Line, path, $"expected a mapping of names to values, found {node.KindName}");
        }

        var valueField = field.MessageType.FindFieldByNumber(2);
        writer.WriteStartObject();
        foreach (var (key, keyLine, value) in node.Members)
        {
            string entryPath = path + "." + key;
            lines.TryAdd(entryPath, keyLine);
            writer.WritePropertyName(key);
            WriteValue(writer, value, valueField, entryPath);
        }

        writer.WriteEndObject();
    }

    private void WriteList(Utf8JsonWriter writer, SpecNode node, FieldDescriptor field, string path)
    {
        if (node.Kind == SpecNodeKind.Object && node.Members is [(NpyKey, _, var fileNode)] && field.FieldType != FieldType.Message)
        {
            WriteNpy(writer, fileNode, field, path);
            return;
        }

        if (node.Kind != SpecNodeKind.Array)
        {
            string hint = field.FieldType == FieldType.Message ? "" : $" (or {{{NpyKey}: FILE.npy}})";
            throw Error(node.Line, path, $"expected a list{hint}, found {node.KindName}");
        }

        writer.WriteStartArray();
        for (int i = 0; i < node.Items.Count; i++)
        {
            string itemPath = $"{path}[{i}]";
            if (field.FieldType == FieldType.Message)
            {
                lines.TryAdd(itemPath, node.Items[i].Line);
            }

            WriteValue(writer, node.Items[i], field, itemPath);
        }

        writer.WriteEndArray();
    }

    private void WriteNpy(Utf8JsonWriter writer, SpecNode fileNode, FieldDescriptor field, string path)
    {
        if (fileNode.Kind != SpecNodeKind.String || string.IsNullOrEmpty(fileNode.Text))
        {
            throw Error(fileNode.Line, path, $"{NpyKey} takes the path of a .npy file, relative to the spec file");
        }

        NpyArray array;
        try
        {
            array = NpyFile.Read(Path.Combine(baseDirectory, fileNode.Text));
        }
        catch (InvalidDataException e)
        {
            throw Error(fileNode.Line, path, e.Message.Replace(Path.Combine(baseDirectory, fileNode.Text), fileNode.Text, StringComparison.Ordinal));
        }

        writer.WriteStartArray();
        if (IsInteger(field.FieldType))
        {
            if (!array.IsInteger)
            {
                throw Error(fileNode.Line, path, $"{fileNode.Text} holds {array.Descr}; this field takes integers (int32 <i4 or int64 <i8)");
            }

            var (min, max) = Range(field.FieldType);
            var values = array.ToInt64s();
            for (int i = 0; i < values.Length; i++)
            {
                if (values[i] < min || values[i] > max)
                {
                    throw Error(fileNode.Line, $"{path}[{i}]", $"{fileNode.Text} holds {values[i]}, outside {min}..{max}");
                }

                writer.WriteNumberValue(values[i]);
            }
        }
        else if (field.FieldType is FieldType.Float or FieldType.Double)
        {
            if (array.Values is double[] && field.FieldType == FieldType.Float)
            {
                warnings.Add($"{file}:{fileNode.Line}: {path}: {fileNode.Text} holds float64 ({array.Descr}); its values were rounded to float32");
            }

            foreach (float v in array.ToSingles())
            {
                if (float.IsFinite(v))
                {
                    writer.WriteNumberValue(v);
                }
                else
                {
                    // Protobuf JSON spells the non-finite values as strings; the server rejects them with the field's name.
                    writer.WriteStringValue(float.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
                }
            }
        }
        else
        {
            throw Error(fileNode.Line, path, $"a .npy file can give only a list of numbers, not {field.FieldType} values");
        }

        writer.WriteEndArray();
    }

    private void WriteValue(Utf8JsonWriter writer, SpecNode node, FieldDescriptor field, string path)
    {
        switch (field.FieldType)
        {
            case FieldType.Message:
                WriteMessage(writer, node, field.MessageType, path);
                break;
            case FieldType.Float or FieldType.Double:
                if (node.Kind == SpecNodeKind.Number && double.TryParse(node.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d))
                {
                    if (double.IsFinite(d) && field.FieldType == FieldType.Float && Math.Abs(d) > float.MaxValue)
                    {
                        throw Error(node.Line, path, $"{node.Text} is outside the float32 range");
                    }

                    if (double.IsFinite(d))
                    {
                        writer.WriteNumberValue(d);
                    }
                    else
                    {
                        writer.WriteStringValue(double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
                    }
                }
                else if (node.Kind == SpecNodeKind.String && node.Text is "NaN" or "Infinity" or "-Infinity")
                {
                    writer.WriteStringValue(node.Text);
                }
                else
                {
                    throw Error(node.Line, path, $"expected a number, found {node.KindName}");
                }

                break;
            case var t when IsInteger(t):
                var (min, max) = Range(t);
                if (node.Kind != SpecNodeKind.Number || !long.TryParse(node.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n))
                {
                    throw Error(node.Line, path, $"expected an integer, found {node.KindName}");
                }

                if (n < min || n > max)
                {
                    throw Error(node.Line, path, $"{n} is outside {min}..{max}");
                }

                writer.WriteNumberValue(n);
                break;
            case FieldType.Bool:
                if (node.Kind != SpecNodeKind.Bool)
                {
                    throw Error(node.Line, path, $"expected true or false, found {node.KindName}");
                }

                writer.WriteBooleanValue(node.Text == "true");
                break;
            case FieldType.String:
                if (node.Kind != SpecNodeKind.String && !(node.PlainScalar && node.Kind is SpecNodeKind.Number or SpecNodeKind.Bool))
                {
                    throw Error(node.Line, path, $"expected a string, found {node.KindName}");
                }

                writer.WriteStringValue(node.Text);
                break;
            case FieldType.Enum:
                var names = field.EnumType.Values.Select(v => v.Name).ToList();
                if (node.Kind != SpecNodeKind.String || !names.Contains(node.Text!))
                {
                    throw Error(node.Line, path, $"expected one of {string.Join(", ", names)}, found {node.KindName}");
                }

                writer.WriteStringValue(node.Text);
                break;
            default:
                throw Error(node.Line, path, $"{field.FieldType} fields are not supported in spec files");
        }
    }

    private static bool IsInteger(FieldType type) => type is FieldType.Int32 or FieldType.Int64 or FieldType.UInt32 or FieldType.UInt64
        or FieldType.SInt32 or FieldType.SInt64 or FieldType.Fixed32 or FieldType.Fixed64 or FieldType.SFixed32 or FieldType.SFixed64;

    private static (long Min, long Max) Range(FieldType type) => type switch
    {
        FieldType.UInt32 or FieldType.Fixed32 => (0, uint.MaxValue),
        FieldType.UInt64 or FieldType.Fixed64 => (0, long.MaxValue),
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => (int.MinValue, int.MaxValue),
        _ => (long.MinValue, long.MaxValue),
    };

    private static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;

    private NetworkSpecException Error(int line, string path, string problem) => new(file, line, path, problem);
}
