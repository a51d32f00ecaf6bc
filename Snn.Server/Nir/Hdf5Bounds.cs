using System.Buffers.Binary;

namespace Snn.Server.Nir;

/// <summary>
/// Checks, before PureHDF opens a file, the size words PureHDF 2.2.0 trusts: it allocates a buffer of the
/// claimed size and only then reads, so one damaged word made a 1 KB file allocate up to 2 GiB. Each
/// structure checked starts with a signature PureHDF insists on, so every one PureHDF could decode is found
/// by scanning for it; a claim of more bytes than the file holds is refused (PureHDF would fail on it anyway,
/// after the allocation). Global heap collections ("GCOL", where variable-length strings live) are walked
/// object by object as PureHDF walks them; local heaps ("HEAP", where a group's link names live) have one
/// data segment.
/// </summary>
internal static class Hdf5Bounds
{
    private static ReadOnlySpan<byte> Signature => "GCOL"u8;

    public static void Check(ReadOnlySpan<byte> file)
    {
        var (offsetSize, lengthSize) = Sizes(file);
        CheckLocalHeaps(file, offsetSize, lengthSize);
        // A valid file's objects do not overlap, so they number at most one per 16 bytes; a crafted file
        // whose collections overlap must not make this walk quadratic.
        long budget = file.Length / 16 + 1024;
        for (var at = file.IndexOf(Signature); at >= 0;)
        {
            if (at + 8 + lengthSize <= file.Length && file[at + 4] == 1)
                budget = Walk(file, at, lengthSize, budget);
            var next = file[(at + 1)..].IndexOf(Signature);
            at = next < 0 ? -1 : at + 1 + next;
        }
    }

    private static void CheckLocalHeaps(ReadOnlySpan<byte> file, int offsetSize, int lengthSize)
    {
        for (var at = file.IndexOf("HEAP"u8); at >= 0;)
        {
            if (at + 8 + 2 * lengthSize + offsetSize <= file.Length && file[at + 4] == 0)
            {
                var size = ReadLength(file, at + 8, lengthSize);
                var address = ReadLength(file, at + 8 + 2 * lengthSize, offsetSize);
                if (address > (ulong)file.Length || size > (ulong)file.Length - address)
                {
                    throw new NirFormatException("", "file",
                        $"an HDF5 local heap (a group's names) at byte {at} claims {size} bytes at byte {address}, beyond the end of the file; the file is damaged or truncated");
                }
            }

            var next = file[(at + 1)..].IndexOf("HEAP"u8);
            at = next < 0 ? -1 : at + 1 + next;
        }
    }

    private static long Walk(ReadOnlySpan<byte> file, int at, int lengthSize, long budget)
    {
        var remaining = ReadLength(file, at + 8, lengthSize);
        var headerSize = 8UL + (ulong)lengthSize;
        long position = at + 8 + lengthSize;
        while (remaining > headerSize)
        {
            if (--budget < 0)
                throw new NirFormatException("", "file", "the HDF5 global heap is damaged (its objects overlap); write the file again with nir.write");
            if (position + 8 + lengthSize > file.Length || BinaryPrimitives.ReadUInt16LittleEndian(file[(int)position..]) == 0)
                return budget; // the end of the file (PureHDF fails there) or the free-space object that ends a collection
            var size = ReadLength(file, (int)position + 8, lengthSize);
            var start = position + 8 + lengthSize;
            if (size > (ulong)(file.Length - start))
            {
                throw new NirFormatException("", "file",
                    $"an HDF5 global heap object at byte {position} claims {size} bytes, more than the file holds after it; the file is damaged or truncated");
            }

            var consumed = (ulong)(start - position) + (size + 7) / 8 * 8;
            position += (long)consumed;
            remaining -= consumed; // wraps as PureHDF's does, which then reads on to the end of the file
        }

        return budget;
    }

    private static ulong ReadLength(ReadOnlySpan<byte> file, int at, int size) => size switch
    {
        2 => BinaryPrimitives.ReadUInt16LittleEndian(file[at..]),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(file[at..]),
        _ => BinaryPrimitives.ReadUInt64LittleEndian(file[at..]),
    };

    /// <summary>The superblock's sizes of offsets and lengths (8 where the superblock cannot be read; PureHDF refuses that file itself).</summary>
    private static (int Offsets, int Lengths) Sizes(ReadOnlySpan<byte> file)
    {
        ReadOnlySpan<byte> magic = [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A];
        for (var at = 0; at + 16 <= file.Length; at = at == 0 ? 512 : at * 2)
        {
            if (!file.Slice(at, 8).SequenceEqual(magic))
                continue;
            int offsets = file[at + 8] <= 1 ? file[at + 13] : file[at + 9], lengths = file[at + 8] <= 1 ? file[at + 14] : file[at + 10];
            return (offsets is 2 or 4 or 8 ? offsets : 8, lengths is 2 or 4 or 8 ? lengths : 8);
        }

        return (8, 8);
    }
}
