using System.Buffers.Binary;

namespace Snn.Server.Nir;

/// <summary>
/// Checks, before PureHDF opens a file, the size words PureHDF 2.2.0 trusts: it allocates a buffer of the
/// claimed size and only then reads, so one damaged word made a 1 KB file allocate up to 2 GiB. Each
/// structure checked starts with a signature PureHDF insists on, so every one PureHDF could decode is found
/// by scanning for it; a claim of more bytes than the file holds is refused (PureHDF would fail on it anyway,
/// after the allocation). Global heap collections ("GCOL", where variable-length strings live) are walked
/// object by object as PureHDF walks them; local heaps ("HEAP", where a group's link names live) have one
/// data segment. Fill values (a dataset's default element) live in object header messages, which have no
/// signature of their own in version 1 headers: those are found by their message header (type 5, a size that
/// is a multiple of 8, three zero reserved bytes, not the start of a symbol table node); the old fill value
/// message (type 4) has too little shape to be told from other bytes and is not checked. Chunked layout
/// messages (type 8) are found the same way: a chunk PureHDF would allocate must not exceed what a compressed
/// dataset may hold. The first chunk size of each chunk index ("TREE" leaves) must fit in the file., and version 2 headers ("OHDR") are walked message by message in their first chunk.
/// </summary>
internal static class Hdf5Bounds
{
    private static ReadOnlySpan<byte> Signature => "GCOL"u8;

    public static void Check(ReadOnlySpan<byte> file)
    {
        var (offsetSize, lengthSize) = Sizes(file);
        CheckLocalHeaps(file, offsetSize, lengthSize);
        CheckChunkIndexes(file, offsetSize);
        CheckFillValues(file, offsetSize);
        CheckVersion1Headers(file, offsetSize, lengthSize);
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

    private static void CheckFillValues(ReadOnlySpan<byte> file, int offsetSize)
    {
        // Version 1 object headers: type (2 bytes), size (2), flags (1), reserved (3), then the message.
        for (var at = 0; at + 16 <= file.Length; at++)
        {
            // The message's own size is a non-zero multiple of 8 in a version 1 header; with the zero reserved
            // bytes and the fields CheckFillValue reads, that keeps other bytes from passing for a message.
            var messageSize = BinaryPrimitives.ReadUInt16LittleEndian(file[(at + 2)..]);
            // A symbol table node ("SNOD", version, reserved, a count of 5, its first name offset) reads
            // like a message header six bytes in: those bytes are not one.
            if (file[at] == 5 && file[at + 1] == 0 && file[at + 5] == 0 && file[at + 6] == 0 && file[at + 7] == 0
                && messageSize >= 8 && messageSize % 8 == 0
                && !(at >= 6 && file.Slice(at - 6, 4).SequenceEqual("SNOD"u8)))
                CheckFillValue(file, 5, at + 8);
            else if (file[at] == 8 && file[at + 1] == 0 && file[at + 5] == 0 && file[at + 6] == 0 && file[at + 7] == 0
                && messageSize >= 8 && messageSize % 8 == 0)
                CheckChunkLayout(file, at + 8, offsetSize);
        }

        // Version 2 object headers: "OHDR", version 2, flags, optional times and attribute phase change, the
        // size of chunk 0, then messages of type (1), size (2), flags (1), optional creation order (2).
        for (var at = file.IndexOf("OHDR"u8); at >= 0;)
        {
            if (at + 6 <= file.Length && file[at + 4] == 2)
            {
                var flags = file[at + 5];
                var position = at + 6 + ((flags & 0x20) != 0 ? 16 : 0) + ((flags & 0x10) != 0 ? 4 : 0);
                var sizeBytes = 1 << (flags & 3);
                if (position + sizeBytes <= file.Length)
                {
                    var end = (long)position + sizeBytes + (long)Math.Min(ReadLength(file, position, sizeBytes == 1 ? 1 : sizeBytes), (ulong)file.Length);
                    position += sizeBytes;
                    var headerSize = (flags & 0x04) != 0 ? 6 : 4;
                    while (position + headerSize <= Math.Min(end, file.Length))
                    {
                        var type = file[position];
                        var size = BinaryPrimitives.ReadUInt16LittleEndian(file[(position + 1)..]);
                        if (type is 4 or 5)
                            CheckFillValue(file, type, position + headerSize);
                        position += headerSize + size;
                    }
                }
            }

            var next = file[(at + 1)..].IndexOf("OHDR"u8);
            at = next < 0 ? -1 : at + 1 + next;
        }
    }

    /// <summary>
    /// A chunked layout message (version 3, class 2): PureHDF allocates a whole chunk, the product of its
    /// dimensions (the last is the element size), to read any part of it.
    /// </summary>
    private static void CheckChunkLayout(ReadOnlySpan<byte> file, int body, int offsetSize)
    {
        if (body + 3 > file.Length || file[body] != 3 || file[body + 1] != 2 || file[body + 2] is < 2 or > 33)
            return;
        var dims = body + 3 + offsetSize;
        if (dims + 4 * file[body + 2] > file.Length)
            return;
        UInt128 bytes = 1;
        for (var i = 0; i < file[body + 2]; i++)
            bytes *= BinaryPrimitives.ReadUInt32LittleEndian(file[(dims + 4 * i)..]);
        if (bytes > (UInt128)(ulong)file.Length * NirReader.MaxCompressionRatio + 65536)
        {
            throw new NirFormatException("", "file",
                $"an HDF5 dataset at byte {body} is stored in chunks of {bytes} bytes, more than {NirReader.MaxCompressionRatio} times the file's size; the file is damaged");
        }
    }

    /// <summary>The fill value message at <paramref name="body"/>, as PureHDF decodes it: its value must lie in the file.</summary>
    private static void CheckFillValue(ReadOnlySpan<byte> file, byte type, int body)
    {
        int sizeAt;
        if (type == 4)
            sizeAt = body;
        else if (body + 8 > file.Length)
            return;
        else if (file[body] is 1 or 2 && file[body + 1] <= 3 && file[body + 2] <= 2)
            sizeAt = file[body + 3] == 1 ? body + 4 : -1;
        else if (file[body] == 3 && (file[body + 1] & 0xC0) == 0)
            sizeAt = (file[body + 1] & 0x30) == 0x20 ? body + 2 : -1;
        else
            return;
        if (sizeAt < 0 || sizeAt + 4 > file.Length)
            return;
        var size = BinaryPrimitives.ReadUInt32LittleEndian(file[sizeAt..]);
        if (size > file.Length - (sizeAt + 4))
        {
            throw new NirFormatException("", "file",
                $"an HDF5 fill value at byte {sizeAt} claims {size} bytes, beyond the end of the file; the file is damaged or truncated");
        }
    }

    /// <summary>
    /// Version 1 object headers walked message by message where the file says they are: the root group's
    /// (in a version 0 or 1 superblock) and every object a symbol table node ("SNOD") lists, as PureHDF
    /// reaches them. This finds the old fill value message (type 4), which the scan cannot tell from other bytes.
    /// </summary>
    private static void CheckVersion1Headers(ReadOnlySpan<byte> file, int offsetSize, int lengthSize)
    {
        var headers = new List<ulong>();
        var superblock = SuperblockAt(file);
        if (superblock >= 0 && file[superblock + 8] <= 1)
        {
            var entry = superblock + (file[superblock + 8] == 0 ? 24 : 28) + 4 * offsetSize;
            if (entry + 2 * offsetSize <= file.Length)
                headers.Add(ReadLength(file, entry + offsetSize, offsetSize));
        }

        var entrySize = 2 * offsetSize + 24;
        for (var at = file.IndexOf("SNOD"u8); at >= 0;)
        {
            if (at + 8 <= file.Length && file[at + 4] == 1)
            {
                var count = BinaryPrimitives.ReadUInt16LittleEndian(file[(at + 6)..]);
                for (var i = 0; i < count && at + 8 + (i + 1) * entrySize <= file.Length && headers.Count < 65536; i++)
                    headers.Add(ReadLength(file, at + 8 + i * entrySize + offsetSize, offsetSize));
            }

            var next = file[(at + 1)..].IndexOf("SNOD"u8);
            at = next < 0 ? -1 : at + 1 + next;
        }

        foreach (var header in headers.Distinct())
        {
            if (file.Length < 16 || header > (ulong)file.Length - 16 || file[(int)header] != 1)
                continue;
            var size = BinaryPrimitives.ReadUInt32LittleEndian(file[((int)header + 8)..]);
            var blocks = new Queue<(long Start, long End)>();
            blocks.Enqueue(((long)header + 16, (long)header + 16 + size));
            for (var walked = 0; blocks.TryDequeue(out var block) && walked < 1024; walked++)
            {
                for (var m = block.Start; m + 8 <= Math.Min(block.End, file.Length);)
                {
                    var type = BinaryPrimitives.ReadUInt16LittleEndian(file[(int)m..]);
                    var messageSize = BinaryPrimitives.ReadUInt16LittleEndian(file[((int)m + 2)..]);
                    if (type is 4 or 5)
                        CheckFillValue(file, (byte)type, (int)m + 8);
                    else if (type == 8)
                        CheckChunkLayout(file, (int)m + 8, offsetSize);
                    else if (type == 0x10 && m + 8 + offsetSize + lengthSize <= file.Length)
                    {
                        var address = ReadLength(file, (int)m + 8, offsetSize);
                        var length = ReadLength(file, (int)m + 8 + offsetSize, lengthSize);
                        if (address < (ulong)file.Length)
                            blocks.Enqueue(((long)address, (long)address + (long)Math.Min(length, (ulong)file.Length)));
                    }

                    m += 8 + messageSize;
                }
            }
        }
    }

    private static int SuperblockAt(ReadOnlySpan<byte> file)
    {
        ReadOnlySpan<byte> magic = [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A];
        for (var at = 0; at + 16 <= file.Length; at = at == 0 ? 512 : at * 2)
        {
            if (file.Slice(at, 8).SequenceEqual(magic))
                return at;
        }

        return -1;
    }

    /// <summary>
    /// The leaves of a chunked dataset's B-tree ("TREE", node type 1, level 0): each key holds the size of
    /// a stored chunk, which PureHDF allocates before reading it; a stored chunk lies in the file. Only the
    /// first key's place is known without the dataset's rank, so only it is checked.
    /// </summary>
    private static void CheckChunkIndexes(ReadOnlySpan<byte> file, int offsetSize)
    {
        for (var at = file.IndexOf("TREE"u8); at >= 0;)
        {
            var key = at + 8 + 2 * offsetSize;
            if (key + 4 <= file.Length && file[at + 4] == 1 && file[at + 5] == 0 && BinaryPrimitives.ReadUInt16LittleEndian(file[(at + 6)..]) > 0)
            {
                var size = BinaryPrimitives.ReadUInt32LittleEndian(file[key..]);
                if (size > file.Length)
                {
                    throw new NirFormatException("", "file",
                        $"an HDF5 chunk index at byte {at} claims a chunk of {size} bytes, more than the whole file; the file is damaged");
                }
            }

            var next = file[(at + 1)..].IndexOf("TREE"u8);
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
        1 => file[at],
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
