namespace Snn.Server.Tests.Nir;

/// <summary>
/// Damages a valid NIR file (HDF5 bytes) the ways a disk, a transfer or a hostile client can: bit flips,
/// byte overwrites, truncation, duplicated or zeroed blocks, and 8-byte words set to huge values (HDF5 keeps
/// its sizes, addresses and dimensions in such words). The same seed gives the same mutants.
/// </summary>
internal sealed class NirMutator(int seed)
{
    private readonly Random random = new(seed);

    /// <summary>The kinds, in the order <see cref="Mutate"/> picks them by index.</summary>
    public static readonly string[] Kinds = ["bit flips", "byte overwrites", "truncation", "duplicated block", "zeroed block", "huge word"];

    /// <summary>One mutant of <paramref name="file"/> and the kind of damage done.</summary>
    public (byte[] Bytes, string Kind) Mutate(byte[] file)
    {
        var kind = random.Next(Kinds.Length);
        var bytes = (byte[])file.Clone();
        switch (kind)
        {
            case 0:
                for (int i = 0, n = random.Next(1, 9); i < n; i++)
                    bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                break;
            case 1:
                for (int i = 0, n = random.Next(1, 17); i < n; i++)
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                break;
            case 2:
                bytes = bytes[..random.Next(bytes.Length)];
                break;
            case 3:
            {
                var length = random.Next(8, 513);
                var from = random.Next(Math.Max(1, bytes.Length - length));
                var to = random.Next(Math.Max(1, bytes.Length - length));
                Array.Copy(file, from, bytes, to, Math.Min(length, bytes.Length - Math.Max(from, to)));
                break;
            }
            case 4:
            {
                var length = random.Next(8, 513);
                var at = random.Next(bytes.Length);
                Array.Clear(bytes, at, Math.Min(length, bytes.Length - at));
                break;
            }
            default:
            {
                // HDF5's words are 8-byte aligned in most structures; an unaligned one hits the rest.
                var at = random.Next(bytes.Length - 8);
                if (random.Next(2) == 0)
                    at &= ~7;
                ulong[] huge = [ulong.MaxValue, long.MaxValue, uint.MaxValue, 1UL << 31, 1UL << 40, 0x8000_0000_0000_0000];
                BitConverter.TryWriteBytes(bytes.AsSpan(at), huge[random.Next(huge.Length)]);
                break;
            }
        }

        return (bytes, Kinds[kind]);
    }
}
