using Snn.Protos.V1;

namespace Snn.Server.Nir;

/// <summary>Turns a validated NIR graph into a network spec, discretised by the chosen flavour.</summary>
internal static class NirImporter
{
    /// <summary>
    /// Builds the spec and the report. Throws <see cref="NirFormatException"/> for a graph the flavour
    /// cannot express (naming node and field), and for a lossy conversion when <see cref="NirImportOptions.Strict"/>.
    /// </summary>
    public static NirImportResult Import(NirGraph graph, NirImportOptions options) =>
        throw new NotImplementedException("in progress");
}
