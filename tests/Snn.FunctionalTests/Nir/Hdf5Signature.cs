namespace Snn.FunctionalTests.Nir;

/// <summary>The eight bytes every HDF5 file (so every .nir file) starts with.</summary>
internal static class Hdf5Signature
{
    public static readonly byte[] Bytes = [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0d, 0x0a, 0x1a, 0x0a];
}
