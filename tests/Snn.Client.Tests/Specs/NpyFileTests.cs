using Snn.Client.Specs;

namespace Snn.Client.Tests.Specs;

/// <summary>Our .npy reader and writer against files that NumPy (Debian's python3-numpy) writes and reads.</summary>
public sealed class NpyFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("snn-npy-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("float32", "<f4", 1)]
    [InlineData("float32", "<f4", 2)]
    [InlineData("float32", "<f4", 3)]
    [InlineData("float64", "<f8", 1)]
    [InlineData(">f4", ">f4", 1)]
    [InlineData("int32", "<i4", 1)]
    [InlineData("int64", "<i8", 2)]
    public void Reads_what_numpy_writes_in_every_format_version(string dtype, string descr, int version)
    {
        NumPy.Run(_directory, $"""
            a = (np.arange(24).reshape(2, 3, 4) * 1.5 - 7).astype('{dtype}') if 'f' in '{dtype}' else (np.arange(24).reshape(2, 3, 4) - 7).astype('{dtype}')
            with open('a.npy', 'wb') as f:
                np.lib.format.write_array(f, a, version=({version}, 0))
            """);

        var array = NpyFile.Read(Path.Combine(_directory, "a.npy"));

        Assert.Equal(descr, array.Descr);
        Assert.Equal([2, 3, 4], array.Shape);
        Assert.Equal("(2, 3, 4)", array.ShapeText);
        Assert.Equal(24, array.Length);
        bool integer = descr[1] == 'i';
        Assert.Equal(integer, array.IsInteger);
        var expected = Enumerable.Range(0, 24).Select(i => integer ? i - 7f : i * 1.5f - 7f).ToArray();
        Assert.Equal(expected, array.ToSingles());
        if (integer)
        {
            Assert.Equal(expected.Select(v => (long)v).ToArray(), array.ToInt64s());
        }
    }

    [Fact]
    public void Reads_one_dimensional_and_zero_dimensional_arrays()
    {
        NumPy.Run(_directory, """
            np.save('v.npy', np.array([0.25, -1e-3, 3e38], dtype=np.float32))
            np.save('s.npy', np.float32(2.5))
            np.save('e.npy', np.zeros((0, 3), dtype=np.float32))
            """);

        var v = NpyFile.Read(Path.Combine(_directory, "v.npy"));
        Assert.Equal("(3,)", v.ShapeText);
        Assert.Equal([0.25f, -1e-3f, 3e38f], v.ToSingles());

        var s = NpyFile.Read(Path.Combine(_directory, "s.npy"));
        Assert.Empty(s.Shape);
        Assert.Equal([2.5f], s.ToSingles());

        var e = NpyFile.Read(Path.Combine(_directory, "e.npy"));
        Assert.Equal([0, 3], e.Shape);
        Assert.Equal(0, e.Length);
    }

    [Fact]
    public void Numpy_reads_what_we_write()
    {
        NpyFile.Write(Path.Combine(_directory, "w.npy"), [0.1f, -2f, 3.5f, float.Epsilon, 1e30f, 0f], 2, 3);
        NpyFile.Write(Path.Combine(_directory, "i.npy"), [0, 5, -9], 3);

        string output = NumPy.Run(_directory, """
            w = np.load('w.npy')
            i = np.load('i.npy')
            print(w.dtype, w.shape, w.flags['C_CONTIGUOUS'], i.dtype, i.shape)
            print(all(w.ravel() == np.array([0.1, -2, 3.5, np.finfo(np.float32).smallest_subnormal, 1e30, 0], dtype=np.float32)))
            print(i.tolist())
            with open('w.npy', 'rb') as f:
                version = np.lib.format.read_magic(f)
                np.lib.format.read_array_header_1_0(f)
                print(version, f.tell() % 64)
            """);

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("float32 (2, 3) True int32 (3,)", lines[0]);
        Assert.Equal("True", lines[1]);
        Assert.Equal("[0, 5, -9]", lines[2]);
        Assert.Equal("(1, 0) 0", lines[3]);
    }

    [Fact]
    public void Rejects_fortran_order_other_dtypes_and_truncated_files_with_what_to_do()
    {
        NumPy.Run(_directory, """
            np.save('f.npy', np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
            np.save('u.npy', np.arange(3, dtype=np.uint8))
            np.save('c.npy', np.arange(3, dtype=np.complex64))
            np.save('t.npy', np.arange(100, dtype=np.float32))
            """);
        var truncated = Path.Combine(_directory, "t.npy");
        File.WriteAllBytes(truncated, File.ReadAllBytes(truncated)[..^10]);
        File.WriteAllText(Path.Combine(_directory, "x.npy"), "not numpy");

        var fortran = Assert.Throws<InvalidDataException>(() => NpyFile.Read(Path.Combine(_directory, "f.npy")));
        Assert.Contains("f.npy: the array is stored in Fortran order (fortran_order: True); save it in C order", fortran.Message);
        var u8 = Assert.Throws<InvalidDataException>(() => NpyFile.Read(Path.Combine(_directory, "u.npy")));
        Assert.Contains("dtype '|u1' is not supported; use float32 (<f4)", u8.Message);
        var complex = Assert.Throws<InvalidDataException>(() => NpyFile.Read(Path.Combine(_directory, "c.npy")));
        Assert.Contains("dtype '<c8' is not supported", complex.Message);
        var cut = Assert.Throws<InvalidDataException>(() => NpyFile.Read(truncated));
        Assert.Contains("the data is truncated: shape (100) of <f4 needs 400 bytes, the file has 390", cut.Message);
        var notNpy = Assert.Throws<InvalidDataException>(() => NpyFile.Read(Path.Combine(_directory, "x.npy")));
        Assert.Contains("not a NumPy .npy file", notNpy.Message);
    }
}
