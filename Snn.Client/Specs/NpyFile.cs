using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Snn.Client.Specs;

/// <summary>
/// Reads and writes NumPy's <c>.npy</c> format (versions 1.0, 2.0 and 3.0): the magic <c>\x93NUMPY</c>,
/// a version, a header length (2 bytes in 1.0, 4 in 2.0 and 3.0), a Python dict literal
/// <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (3, 4), }</c>, then the raw values.
/// Reads dtypes <c>f4</c>, <c>f8</c>, <c>i4</c> and <c>i8</c> in either byte order, C order only.
/// </summary>
public static partial class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads the array in <paramref name="path"/>; a malformed or unsupported file throws <see cref="InvalidDataException"/> naming it.</summary>
    public static NpyArray Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path}: cannot read: {e.Message}", e);
        }

        try
        {
            return Parse(bytes);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Parses the bytes of a <c>.npy</c> file.</summary>
    public static NpyArray Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 10 || !bytes[..6].SequenceEqual(Magic))
        {
            throw new InvalidDataException("not a NumPy .npy file (it does not start with \\x93NUMPY)");
        }

        int major = bytes[6];
        int minor = bytes[7];
        int headerLength;
        int headerStart;
        switch (major)
        {
            case 1:
                headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]);
                headerStart = 10;
                break;
            case 2 or 3 when bytes.Length >= 12:
                uint length = BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
                headerLength = length > int.MaxValue ? int.MaxValue : (int)length;
                headerStart = 12;
                break;
            default:
                throw new InvalidDataException($"format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are)");
        }

        if (bytes.Length - headerStart < headerLength)
        {
            throw new InvalidDataException($"the header says {headerLength} bytes but the file ends after {bytes.Length - headerStart}");
        }

        var headerBytes = bytes.Slice(headerStart, headerLength);
        string header = major == 3 ? Encoding.UTF8.GetString(headerBytes) : Encoding.Latin1.GetString(headerBytes);
        var (descr, fortranOrder, shape) = ParseHeader(header);
        if (fortranOrder)
        {
            throw new InvalidDataException("the array is stored in Fortran order (fortran_order: True); save it in C order, e.g. np.save(path, np.ascontiguousarray(a))");
        }

        long count = 1;
        foreach (int d in shape)
        {
            count *= d;
            if (count > Array.MaxLength)
            {
                throw new InvalidDataException($"shape ({string.Join(", ", shape)}) is too large");
            }
        }

        bool bigEndian = descr[0] == '>';
        int size = descr[2] - '0';
        var data = bytes[(headerStart + headerLength)..];
        if (data.Length < count * size)
        {
            throw new InvalidDataException($"the data is truncated: shape ({string.Join(", ", shape)}) of {descr} needs {count * size} bytes, the file has {data.Length}");
        }

        var raw = data[..(int)(count * size)];
        Array values = descr[1..] switch
        {
            "f4" => Decode<float>(raw, bigEndian),
            "f8" => Decode<double>(raw, bigEndian),
            "i4" => Decode<int>(raw, bigEndian),
            _ => Decode<long>(raw, bigEndian),
        };
        return new NpyArray(descr, shape, values);
    }

    /// <summary>Writes float32 values (<c>&lt;f4</c>, C order) in format 1.0, as <c>np.save</c> does.</summary>
    public static void Write(string path, ReadOnlySpan<float> values, params int[] shape)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }

        WriteRaw(path, "<f4", shape, values.Length, bytes);
    }

    /// <summary>Writes int32 values (<c>&lt;i4</c>, C order) in format 1.0.</summary>
    public static void Write(string path, ReadOnlySpan<int> values, params int[] shape)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), values[i]);
        }

        WriteRaw(path, "<i4", shape, values.Length, bytes);
    }

    private static void WriteRaw(string path, string descr, int[] shape, int count, byte[] data)
    {
        if (shape.Length == 0)
        {
            shape = [count];
        }

        long product = 1;
        foreach (int d in shape)
        {
            product *= d;
        }

        if (product != count || shape.Any(d => d < 0))
        {
            throw new ArgumentException($"shape ({string.Join(", ", shape)}) does not hold {count} values", nameof(shape));
        }

        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";

        // The header (magic, version, length, dict, spaces, newline) is padded to a multiple of 64 bytes.
        int unpadded = 10 + dict.Length + 1;
        int total = (unpadded + 63) / 64 * 64;
        string header = dict + new string(' ', total - unpadded) + "\n";
        using var stream = File.Create(path);
        stream.Write(Magic);
        stream.Write([1, 0]);
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)header.Length);
        stream.Write(length);
        stream.Write(Encoding.Latin1.GetBytes(header));
        stream.Write(data);
    }

    private static T[] Decode<T>(ReadOnlySpan<byte> raw, bool bigEndian)
        where T : unmanaged
    {
        var values = MemoryMarshal.Cast<byte, T>(raw).ToArray();
        if (bigEndian == BitConverter.IsLittleEndian)
        {
            // The other byte order: reverse each value's bytes in place.
            var bytes = MemoryMarshal.AsBytes(values.AsSpan());
            int size = Unsafe.SizeOf<T>();
            for (int i = 0; i < bytes.Length; i += size)
            {
                bytes.Slice(i, size).Reverse();
            }
        }

        return values;
    }

    private static (string Descr, bool FortranOrder, int[] Shape) ParseHeader(string header)
    {
        var descr = DescrEntry().Match(header);
        var fortran = FortranEntry().Match(header);
        var shape = ShapeEntry().Match(header);
        if (!descr.Success || !fortran.Success || !shape.Success)
        {
            throw new InvalidDataException($"the header {header.Trim()} lacks 'descr', 'fortran_order' or 'shape'");
        }

        string d = descr.Groups[1].Value;
        if (d.Length != 3 || d[0] is not ('<' or '>' or '|' or '=') || d[1..] is not ("f4" or "f8" or "i4" or "i8"))
        {
            throw new InvalidDataException($"dtype '{d}' is not supported; use float32 (<f4), float64 (<f8), int32 (<i4) or int64 (<i8)");
        }

        if (d[0] is '|' or '=')
        {
            d = (BitConverter.IsLittleEndian ? "<" : ">") + d[1..];
        }

        var dims = new List<int>();
        foreach (var part in shape.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out int dim))
            {
                throw new InvalidDataException($"shape ({shape.Groups[1].Value}) is not a tuple of sizes");
            }

            dims.Add(dim);
        }

        return (d, fortran.Groups[1].Value == "True", dims.ToArray());
    }

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""]([^'""]*)['""]")]
    private static partial Regex DescrEntry();

    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*(True|False)")]
    private static partial Regex FortranEntry();

    [GeneratedRegex(@"['""]shape['""]\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeEntry();
}
