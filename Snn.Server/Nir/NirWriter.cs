namespace Snn.Server.Nir;

/// <summary>Writes a NIR graph in NIR's HDF5 layout (the layout <see cref="NirReader"/> reads and nir.read reads).</summary>
internal static class NirWriter
{
    public static void Write(NirGraph graph, Stream stream) =>
        throw new NotImplementedException("in progress");
}
