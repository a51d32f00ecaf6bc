namespace Snn.Server.Nir;

/// <summary>An edge of a NIR graph: the output of <see cref="Source"/> feeds the input of <see cref="Target"/>.</summary>
internal readonly record struct NirEdge(string Source, string Target);

/// <summary>
/// A NIR graph read and validated by <see cref="NirReader"/>: every edge joins two of its nodes, every
/// node's parameters have consistent shapes, there is an Input and an Output node, and every cycle passes through a stateful node.
/// </summary>
internal sealed class NirGraph(
    string version, IReadOnlyDictionary<string, NirNode> nodes, IReadOnlyList<NirEdge> edges, IReadOnlyList<string>? notes = null)
{
    /// <summary>The NIR version the file states ("" where it states none).</summary>
    public string Version { get; } = version;

    /// <summary>The nodes by name, in the order the file lists them.</summary>
    public IReadOnlyDictionary<string, NirNode> Nodes { get; } = nodes;

    public IReadOnlyList<NirEdge> Edges { get; } = edges;

    /// <summary>
    /// What the reader read other than as stored, one sentence each naming the node by its path (on the root
    /// graph, for the whole file): an import report states them.
    /// </summary>
    public IReadOnlyList<string> Notes { get; } = notes ?? [];
}
