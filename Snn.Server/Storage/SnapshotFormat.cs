using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Snn.Server.Engine;

namespace Snn.Server.Storage;

/// <summary>
/// The binary form of a <see cref="NetworkState"/>: the one place snapshots are serialized. All
/// numbers little-endian; float arrays are their raw IEEE-754 bytes.
/// <code>
/// magic     8 bytes  "SNNSTATE"
/// version   u32      1
/// clock     u8       0 none, 1 present; then ticks i64, overruns i64 when present
/// layout    u32 populations, u32 array count A, A x u32 array length
/// instances u32 count, then per instance:
///   index u32, step i64
///   A arrays, each its layout length of f32
///   queued u32 count, then per input:
///     step i64 (absolute), population u32, kinds u8 (1 indices, 2 values, 4 current),
///     per kind present: u32 length then that many i32 (indices) or f32 (values, current)
/// </code>
/// A reader refuses another magic or version, and any length that runs past the end.
/// </summary>
internal static class SnapshotFormat
{
    public const int Version = 1;

    private static ReadOnlySpan<byte> Magic => "SNNSTATE"u8;

    private const byte HasIndices = 1;
    private const byte HasValues = 2;
    private const byte HasCurrent = 4;

    static SnapshotFormat()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("snapshots store float arrays as little-endian bytes; this machine is big-endian");
        }
    }

    public static byte[] Write(NetworkState state)
    {
        var buffer = new ArrayBufferWriter<byte>(1024 + EstimateBytes(state));
        buffer.Write(Magic);
        U32(buffer, Version);
        if (state.Clock is { } clock)
        {
            U8(buffer, 1);
            I64(buffer, clock.Ticks);
            I64(buffer, clock.Overruns);
        }
        else
        {
            U8(buffer, 0);
        }

        U32(buffer, state.Layout.Populations);
        U32(buffer, state.Layout.ArrayLengths.Count);
        foreach (int length in state.Layout.ArrayLengths)
        {
            U32(buffer, length);
        }

        U32(buffer, state.Instances.Count);
        foreach (var inst in state.Instances)
        {
            U32(buffer, inst.Index);
            I64(buffer, inst.Step);
            foreach (var array in inst.Arrays)
            {
                buffer.Write(MemoryMarshal.AsBytes(array.AsSpan()));
            }

            U32(buffer, inst.Queued.Count);
            foreach (var (step, input) in inst.Queued)
            {
                I64(buffer, step);
                U32(buffer, input.Population);
                U8(buffer, (byte)((input.Indices is null ? 0 : HasIndices) | (input.Values is null ? 0 : HasValues) | (input.Current is null ? 0 : HasCurrent)));
                Array(buffer, input.Indices);
                Array(buffer, input.Values);
                Array(buffer, input.Current);
            }
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a state; throws <see cref="StoreCorruptException"/> naming what is wrong.</summary>
    public static NetworkState Read(ReadOnlySpan<byte> data)
    {
        var r = new Reader(data);
        if (!r.Take(Magic.Length).SequenceEqual(Magic))
        {
            throw new StoreCorruptException("the snapshot does not start with SNNSTATE; it is not a snapshot");
        }

        int version = r.Count();
        if (version != Version)
        {
            throw new StoreCorruptException($"the snapshot has format version {version}; this server reads version {Version}");
        }

        ClockPosition? clock = r.Byte() switch
        {
            0 => null,
            1 => new ClockPosition(r.I64(), r.I64()),
            var b => throw new StoreCorruptException($"the snapshot's clock flag is {b}"),
        };
        int populations = r.Count();
        var lengths = new int[r.Count()];
        for (int a = 0; a < lengths.Length; a++)
        {
            lengths[a] = r.Count();
        }

        var layout = new StateLayout(populations, lengths);
        var instances = new InstanceState[r.Count()];
        for (int i = 0; i < instances.Length; i++)
        {
            int index = r.Count();
            long step = r.I64();
            var arrays = new float[lengths.Length][];
            for (int a = 0; a < arrays.Length; a++)
            {
                arrays[a] = r.Floats(lengths[a]);
            }

            var queued = new (long, PendingInput)[r.Count()];
            for (int q = 0; q < queued.Length; q++)
            {
                long at = r.I64();
                int population = r.Count();
                byte kinds = r.Byte();
                var indices = (kinds & HasIndices) != 0 ? MemoryMarshal.Cast<float, int>(r.Floats(r.Count())).ToArray() : null;
                var values = (kinds & HasValues) != 0 ? r.Floats(r.Count()) : null;
                var current = (kinds & HasCurrent) != 0 ? r.Floats(r.Count()) : null;
                queued[q] = (at, new PendingInput(population, 0, indices, values, current));
            }

            instances[i] = new InstanceState(index, step, arrays, queued);
        }

        if (!r.AtEnd)
        {
            throw new StoreCorruptException("the snapshot has bytes after its last instance");
        }

        return new NetworkState(layout, clock, instances);
    }

    private static int EstimateBytes(NetworkState state) =>
        (int)Math.Min(int.MaxValue / 2, 4L * state.Instances.Count * state.Layout.ArrayLengths.Sum(l => (long)l));

    private static void Array<T>(ArrayBufferWriter<byte> buffer, T[]? values)
        where T : unmanaged
    {
        if (values is not null)
        {
            U32(buffer, values.Length);
            buffer.Write(MemoryMarshal.AsBytes(values.AsSpan()));
        }
    }

    private static void U8(ArrayBufferWriter<byte> buffer, byte value)
    {
        buffer.GetSpan(1)[0] = value;
        buffer.Advance(1);
    }

    private static void U32(ArrayBufferWriter<byte> buffer, int value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.GetSpan(4), checked((uint)value));
        buffer.Advance(4);
    }

    private static void I64(ArrayBufferWriter<byte> buffer, long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(buffer.GetSpan(8), value);
        buffer.Advance(8);
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _offset;

        public readonly bool AtEnd => _offset == _data.Length;

        public ReadOnlySpan<byte> Take(int bytes)
        {
            if (bytes < 0 || bytes > _data.Length - _offset)
            {
                throw new StoreCorruptException($"the snapshot is truncated: {bytes} bytes wanted at offset {_offset} of {_data.Length}");
            }

            var span = _data.Slice(_offset, bytes);
            _offset += bytes;
            return span;
        }

        public byte Byte() => Take(1)[0];

        public long I64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        /// <summary>A u32 count or length, at most int.MaxValue.</summary>
        public int Count()
        {
            uint value = BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
            return value <= int.MaxValue ? (int)value : throw new StoreCorruptException($"the snapshot has an impossible count {value}");
        }

        public float[] Floats(int count) =>
            MemoryMarshal.Cast<byte, float>(Take(checked(count * 4))).ToArray();
    }
}
