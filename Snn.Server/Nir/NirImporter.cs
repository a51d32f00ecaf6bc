using Snn.Protos.V1;
using Snn.Server.Engine;

namespace Snn.Server.Nir;

/// <summary>Turns a validated NIR graph into a network spec, discretised by the chosen flavour.</summary>
internal static class NirImporter
{
    /// <summary>
    /// Builds the spec and the report. Throws <see cref="NirFormatException"/> for a graph the flavour
    /// cannot express (naming node and field), and, when <see cref="NirImportOptions.Strict"/>, an
    /// <see cref="EngineException"/> (FAILED_PRECONDITION) listing every lossy or ambiguous conversion.
    /// </summary>
    public static NirImportResult Import(NirGraph graph, NirImportOptions options)
    {
        var report = graph.Notes.Select(note => NirReport.Note("", "file", note, lossy: true)).ToList();
        var flat = NirFlatGraph.Flatten(graph, report);
        var spec = new NirNetworkBuilder(flat, options, report).Build();
        if (options.Strict)
        {
            var lossy = report.Where(line => line.Lossy).ToList();
            if (lossy.Count > 0)
            {
                throw new EngineException(EngineError.FailedPrecondition,
                    $"strict import refused: {lossy.Count} conversion(s) lose information or make a choice the file does not fix: " +
                    string.Join("; ", lossy.Select(l => $"{(l.Node.Length == 0 ? "graph" : l.Node)}: {l.Detail}")) +
                    ". Import without strict to accept them (the report flags each), or change the file");
            }
        }

        return new NirImportResult(spec, report);
    }
}
