using Snn.Protos.V1;

namespace Snn.Server.Nir;

/// <summary>Writes a network spec as a NIR graph: the inverse of <see cref="NirImporter"/> on what NIR can express.</summary>
internal static class NirExporter
{
    public static NirGraph Export(NetworkSpec spec, List<NirConversion> report) =>
        throw new NotImplementedException("in progress");
}
