using System.Text;
using System.Text.Json;

namespace Snn.Client.Specs.Internal;

/// <summary>Reads JSON into <see cref="SpecNode"/>s with Utf8JsonReader, keeping each value's line.</summary>
internal static class JsonSpecReader
{
    public static SpecNode Read(string text, string file)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var lineStarts = new List<int> { 0 };
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'\n')
            {
                lineStarts.Add(i + 1);
            }
        }

        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        try
        {
            if (!reader.Read())
            {
                throw new NetworkSpecException(file, 1, null, "the file is empty; it needs a NetworkSpec object");
            }

            var root = ReadValue(ref reader, lineStarts, file);
            if (reader.Read())
            {
                int line = LineOf(lineStarts, reader.TokenStartIndex);
                throw new NetworkSpecException(file, line, null, "there is more after the NetworkSpec object");
            }

            return root;
        }
        catch (JsonException e)
        {
            throw new NetworkSpecException(file, (int)(e.LineNumber ?? 0) + 1, null, $"invalid JSON: {FirstSentence(e.Message)}");
        }
    }

    private static SpecNode ReadValue(ref Utf8JsonReader reader, List<int> lineStarts, string file)
    {
        int line = LineOf(lineStarts, reader.TokenStartIndex);
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var obj = new SpecNode(SpecNodeKind.Object, line);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    int keyLine = LineOf(lineStarts, reader.TokenStartIndex);
                    string key = reader.GetString()!;
                    if (obj.Members.Any(m => m.Key == key))
                    {
                        throw new NetworkSpecException(file, keyLine, null, $"the key '{key}' appears twice in one object");
                    }

                    reader.Read();
                    obj.Members.Add((key, keyLine, ReadValue(ref reader, lineStarts, file)));
                }

                return obj;
            case JsonTokenType.StartArray:
                var array = new SpecNode(SpecNodeKind.Array, line);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    array.Items.Add(ReadValue(ref reader, lineStarts, file));
                }

                return array;
            case JsonTokenType.String:
                return new SpecNode(SpecNodeKind.String, line, reader.GetString());
            case JsonTokenType.Number:
                return new SpecNode(SpecNodeKind.Number, line, Encoding.UTF8.GetString(reader.ValueSpan));
            case JsonTokenType.True or JsonTokenType.False:
                return new SpecNode(SpecNodeKind.Bool, line, reader.GetBoolean() ? "true" : "false");
            default:
                return new SpecNode(SpecNodeKind.Null, line);
        }
    }

    /// <summary>The 1-based line of a byte offset.</summary>
    private static int LineOf(List<int> lineStarts, long offset)
    {
        int index = lineStarts.BinarySearch((int)offset);
        return (index >= 0 ? index : ~index - 1) + 1;
    }

    private static string FirstSentence(string message)
    {
        int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd();
    }
}
