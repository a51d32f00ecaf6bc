namespace Snn.Server.Nir;

/// <summary>
/// A NIR file the server cannot read: the message names the node and the field (dataset) to fix.
/// <see cref="Node"/> is empty where the fault is in the file or the graph as a whole. The import RPC
/// reports it as INVALID_ARGUMENT.
/// </summary>
internal sealed class NirFormatException(string node, string field, string problem)
    : Exception(node.Length == 0 ? $"NIR file: {field}: {problem}" : $"NIR node '{node}', field '{field}': {problem}")
{
    public string Node { get; } = node;

    public string Field { get; } = field;
}
