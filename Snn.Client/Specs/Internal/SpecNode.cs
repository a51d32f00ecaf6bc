namespace Snn.Client.Specs.Internal;

/// <summary>What a <see cref="SpecNode"/> holds.</summary>
internal enum SpecNodeKind
{
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

/// <summary>
/// A value of a spec document, JSON or YAML, with the line where it starts (1-based), so
/// that a mistake found while mapping it onto the NetworkSpec schema can name its place in the file.
/// </summary>
internal sealed class SpecNode
{
    public SpecNode(SpecNodeKind kind, int line, string? text = null)
    {
        Kind = kind;
        Line = line;
        Text = text;
    }

    public SpecNodeKind Kind { get; }

    public int Line { get; }

    /// <summary>A scalar's text: the string, or the number or bool as written.</summary>
    public string? Text { get; }

    /// <summary>An object's members in document order, with the place of each key.</summary>
    public List<(string Key, int Line, SpecNode Value)> Members { get; } = [];

    public List<SpecNode> Items { get; } = [];

    /// <summary>
    /// A YAML plain scalar (unquoted) that the schema may read as a string even where YAML would take
    /// it for a number or bool, e.g. <c>name: 2024</c>.
    /// </summary>
    public bool PlainScalar { get; init; }

    public string KindName => Kind switch
    {
        SpecNodeKind.Object => "a mapping",
        SpecNodeKind.Array => "a list",
        SpecNodeKind.String => $"the string '{Text}'",
        SpecNodeKind.Number => $"the number {Text}",
        SpecNodeKind.Bool => Text!,
        _ => "null",
    };
}
