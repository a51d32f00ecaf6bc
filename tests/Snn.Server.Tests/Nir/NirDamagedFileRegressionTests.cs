using System.Buffers.Binary;
using System.Diagnostics;
using Snn.Server.Nir;

namespace Snn.Server.Tests.Nir;

/// <summary>
/// The faults the damaged-file fuzz (<see cref="NirFuzzTests"/>) found, each rebuilt by hand in a real file:
/// a size word PureHDF trusted made a small file allocate gigabytes, a dimension made it read for minutes.
/// Each must now be refused naming what is damaged, quickly and within the allocation bound.
/// </summary>
public sealed class NirDamagedFileRegressionTests
{
    private static byte[] Seed(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "data", "nir", name));

    private static void AssertRefusedWithinBounds(byte[] bytes, NirFlavor flavor, string expected)
    {
        var fault = NirFuzzTests.ImportBounded(bytes, flavor, out var allocated);
        Assert.Null(fault);
        Assert.True(allocated < 16 << 20, $"allocated {allocated >> 20} MiB");
        var e = Assert.Throws<NirFormatException>(() => NirReader.Read(new MemoryStream(bytes, writable: false)));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Global_heap_object_size_damaged_no_longer_allocates_it()
    {
        var bytes = Seed("lif_norse.nir");
        var collection = bytes.AsSpan().IndexOf("GCOL"u8);
        Assert.True(collection > 0);
        // The first object's size: after the collection's signature, version, reserved and size (16 bytes),
        // the object's index, reference count and reserved bytes (8).
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(collection + 24), 0x7FFF_0000);
        AssertRefusedWithinBounds(bytes, NirFlavor.Norse, "global heap object");
    }

    [Fact]
    public void Local_heap_segment_size_damaged_no_longer_allocates_it()
    {
        var bytes = Seed("lif_norse.nir");
        var heap = bytes.AsSpan().IndexOf("HEAP"u8);
        Assert.True(heap > 0);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(heap + 8), 0x7FFF_0000);
        AssertRefusedWithinBounds(bytes, NirFlavor.Norse, "local heap");
    }

    [Fact]
    public void Fill_value_size_damaged_no_longer_allocates_it()
    {
        var bytes = Seed("lif_norse.nir");
        // A version 1 header's fill value message: type 5, size 8, flags, reserved; version 2 with a defined value.
        var at = bytes.AsSpan().IndexOf(new byte[] { 5, 0, 8, 0, 1, 0, 0, 0, 2 });
        Assert.True(at > 0 && bytes[at + 11] == 1);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at + 12), 0x7FFF_0000);
        AssertRefusedWithinBounds(bytes, NirFlavor.Norse, "fill value");
    }

    [Fact]
    public void Old_fill_value_size_damaged_no_longer_allocates_it()
    {
        var bytes = Seed("lif_norse.nir");
        // A fill value message turned into the old kind (type 4), whose first four bytes are its size.
        var at = bytes.AsSpan().IndexOf(new byte[] { 5, 0, 8, 0, 1, 0, 0, 0, 2 });
        Assert.True(at > 0);
        bytes[at] = 4;
        AssertRefusedWithinBounds(bytes, NirFlavor.Norse, "fill value");
    }

    [Fact]
    public void Chunk_dimension_damaged_no_longer_allocates_a_huge_chunk()
    {
        var bytes = Seed("flavors/sinabs_li.nir");
        // A chunked layout message in a version 1 header: type 8, size 24, flags, reserved; version 3,
        // class 2, rank + 1, the address (8 bytes), then the chunk's dimensions (4 bytes each).
        var at = bytes.AsSpan().IndexOf(new byte[] { 8, 0, 24, 0, 0, 0, 0, 0, 3, 2 });
        Assert.True(at > 0);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at + 19), 0x4000_0000);
        AssertRefusedWithinBounds(bytes, NirFlavor.Sinabs, "chunks of");
    }

    [Fact]
    public void Chunk_index_size_damaged_no_longer_allocates_it()
    {
        var bytes = Seed("flavors/sinabs_li.nir");
        // A chunk B-tree leaf: "TREE", node type 1, level 0, entries, two sibling addresses, then the first key's chunk size.
        var at = bytes.AsSpan().IndexOf("TREE\u0001\u0000"u8);
        Assert.True(at > 0);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at + 24), 0x4900_0000);
        AssertRefusedWithinBounds(bytes, NirFlavor.Sinabs, "chunk index");
    }

    [Fact]
    public void Dataset_dimension_damaged_no_longer_reads_millions_of_chunks()
    {
        var bytes = Seed("lif_norse.nir");
        // A version 1 dataspace message of rank 1 holding one element (an Input's shape): type 1, size,
        // flags, reserved; version 1, rank 1, flags, reserved (5); the dimension, then its maximum.
        var span = bytes.AsSpan();
        var at = -1;
        for (var i = 0; i + 32 <= span.Length && at < 0; i++)
        {
            if (span[i] == 1 && span[i + 1] == 0 && span[i + 8] == 1 && span[i + 9] == 1 && span[i + 10] == 1
                && BinaryPrimitives.ReadUInt64LittleEndian(span[(i + 16)..]) == 1)
                at = i;
        }

        Assert.True(at > 0);
        BinaryPrimitives.WriteUInt64LittleEndian(span[(at + 16)..], (1UL << 25) + 1);
        BinaryPrimitives.WriteUInt64LittleEndian(span[(at + 24)..], (1UL << 25) + 1);
        var clock = Stopwatch.StartNew();
        AssertRefusedWithinBounds(bytes, NirFlavor.Norse, "field 'shape'");
        Assert.True(clock.Elapsed < NirFuzzTests.CaseBound);
    }

    [Fact]
    public void A_long_list_in_a_damaged_file_is_not_quoted_whole()
    {
        Assert.Equal("[1, 2, 3, 4, 5, 6, 7, 8, ... (10 numbers)]", NirShapes.Format([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    }
}
