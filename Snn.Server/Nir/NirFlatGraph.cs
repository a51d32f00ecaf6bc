namespace Snn.Server.Nir;

/// <summary>
/// A NIR graph with its nested subgraphs inlined: one level of nodes, named by their path
/// ("lif1.lif" for node "lif" of subgraph "lif1"), and edges between them. A subgraph's own Input and
/// Output nodes disappear: an outer edge into the subgraph goes to what its Input feeds, an outer edge
/// out of it comes from what feeds its Output. Duplicate edges are dropped, as snntorch's importer does.
/// </summary>
internal sealed class NirFlatGraph
{
    private NirFlatGraph(List<NirNode> nodes, List<NirEdge> edges, Dictionary<string, string> origins)
    {
        Origins = origins;
        Nodes = nodes;
        ByName = nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        Edges = edges;
    }

    /// <summary>The nodes in file order (a subgraph's nodes where the subgraph stood).</summary>
    public IReadOnlyList<NirNode> Nodes { get; }

    public IReadOnlyDictionary<string, NirNode> ByName { get; }

    public IReadOnlyList<NirEdge> Edges { get; }

    /// <summary>For each node, the path of the nested graph it came from ("" for the top level).</summary>
    public IReadOnlyDictionary<string, string> Origins { get; }

    /// <summary>Whether some path leads from <paramref name="from"/> back to itself or to <paramref name="to"/>.</summary>
    public bool Reaches(string from, string to)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>(Targets(from));
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (n == to)
                return true;
            if (seen.Add(n))
            {
                foreach (var t in Targets(n))
                    stack.Push(t);
            }
        }

        return false;
    }

    /// <summary>A node on a cycle, or null where the graph has none.</summary>
    public string? FindCycle() => Nodes.Select(n => n.Name).FirstOrDefault(n => Reaches(n, n));

    public IEnumerable<string> Sources(string node) => Edges.Where(e => e.Target == node).Select(e => e.Source);

    public IEnumerable<string> Targets(string node) => Edges.Where(e => e.Source == node).Select(e => e.Target);

    public static NirFlatGraph Flatten(NirGraph graph, List<Snn.Protos.V1.NirConversion> report)
    {
        var nodes = new List<NirNode>();
        var edges = new List<NirEdge>();
        var origins = new Dictionary<string, string>(StringComparer.Ordinal);
        Inline(graph, "", nodes, edges, origins, report);
        var distinct = new List<NirEdge>(edges.Count);
        var seen = new HashSet<NirEdge>();
        foreach (var edge in edges)
        {
            if (seen.Add(edge))
                distinct.Add(edge);
            else
                report.Add(NirReport.Note("", "edges", $"duplicate edge {edge.Source} -> {edge.Target} counted once (as snntorch's importer does)", lossy: true));
        }

        return new NirFlatGraph(nodes, distinct, origins);
    }

    /// <summary>Inlines <paramref name="graph"/> with names prefixed by <paramref name="prefix"/>; returns nothing, fills the lists.</summary>
    private static void Inline(NirGraph graph, string prefix, List<NirNode> nodes, List<NirEdge> edges, Dictionary<string, string> origins,
        List<Snn.Protos.V1.NirConversion> report)
    {
        var subgraphs = new Dictionary<string, (List<string> Entries, List<string> Exits)>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes.Values)
        {
            if (node is NirSubgraph sub)
            {
                var inner = sub.Graph;
                string innerPrefix = prefix + sub.Name + ".";
                Inline(inner, innerPrefix, nodes, edges, origins, report);

                // The subgraph's Input and Output nodes stand for its ports: drop them and remember what they join.
                var entries = new List<string>();
                var exits = new List<string>();
                foreach (var port in inner.Nodes.Values)
                {
                    string full = innerPrefix + port.Name;
                    if (port is NirInput)
                    {
                        entries.AddRange(edges.Where(e => e.Source == full).Select(e => e.Target));
                        edges.RemoveAll(e => e.Source == full);
                        nodes.RemoveAll(n => n.Name == full);
                    }
                    else if (port is NirOutput)
                    {
                        exits.AddRange(edges.Where(e => e.Target == full).Select(e => e.Source));
                        edges.RemoveAll(e => e.Target == full);
                        nodes.RemoveAll(n => n.Name == full);
                    }
                }

                subgraphs[sub.Name] = (entries, exits);
                report.Add(NirReport.Note(prefix + sub.Name, "inlined",
                    $"nested graph of {inner.Nodes.Count} nodes inlined; its nodes are named '{innerPrefix}<node>'"));
                continue;
            }

            nodes.Add(Rename(node, prefix + node.Name));
            origins[prefix + node.Name] = prefix.TrimEnd('.');
        }

        foreach (var edge in graph.Edges)
        {
            foreach (var source in Ports(edge.Source, prefix, subgraphs, exit: true))
                foreach (var target in Ports(edge.Target, prefix, subgraphs, exit: false))
                    edges.Add(new NirEdge(source, target));
        }
    }

    /// <summary>
    /// The flat names an edge end stands for: a plain node, or a subgraph's entries (as a target) or exits
    /// (as a source). "sub.port" naming an Input/Output of the subgraph is accepted as the subgraph itself.
    /// </summary>
    private static IEnumerable<string> Ports(string end, string prefix,
        Dictionary<string, (List<string> Entries, List<string> Exits)> subgraphs, bool exit)
    {
        var name = end;
        if (!subgraphs.ContainsKey(name) && name.IndexOf('.') is > 0 and var dot && subgraphs.ContainsKey(name[..dot]))
            name = name[..dot];
        if (subgraphs.TryGetValue(name, out var ports))
            return exit ? ports.Exits : ports.Entries;
        return [prefix + end];
    }

    /// <summary>The node under its flat name (records copy with every parameter shared).</summary>
    private static NirNode Rename(NirNode node, string name) => node.Name == name ? node : node with { Name = name };
}
