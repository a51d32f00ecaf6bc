using K4os.Compression.LZ4;

namespace Snn.Server.Storage;

/// <summary>
/// The compression of a stored snapshot payload (<see cref="SnapshotRecord.Compression"/>): <c>none</c>,
/// or <c>lz4</c>, LZ4's fast level in K4os's pickle format (which records the original length). The
/// store's checksum covers the stored bytes, so damage is found before anything is decompressed.
/// </summary>
internal static class SnapshotCodec
{
    public const string None = "none";

    public const string Lz4 = "lz4";

    public static bool IsKnown(string compression) => compression is None or Lz4;

    public static byte[] Encode(byte[] raw, string compression) => compression switch
    {
        Lz4 => LZ4Pickler.Pickle(raw, LZ4Level.L00_FAST),
        _ => raw,
    };

    public static byte[] Decode(byte[] stored, string compression)
    {
        try
        {
            return compression switch
            {
                None => stored,
                Lz4 => LZ4Pickler.Unpickle(stored),
                _ => throw new StoreCorruptException($"the snapshot is stored with compression '{compression}', which this server does not read"),
            };
        }
        catch (Exception e) when (e is not StoreCorruptException)
        {
            throw new StoreCorruptException($"the snapshot does not decompress ({compression}): {e.Message}", e);
        }
    }
}
