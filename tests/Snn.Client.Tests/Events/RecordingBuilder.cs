using System.Buffers.Binary;
using System.Text;

namespace Snn.Client.Tests.Events;

/// <summary>
/// Writes test recordings byte by byte, as the format specifications lay them out (independently of the
/// readers' code): ASCII header lines, little- and big-endian words, raw bytes.
/// </summary>
internal sealed class RecordingBuilder
{
    private readonly MemoryStream _bytes = new();

    public long Length => _bytes.Length;

    public RecordingBuilder Line(string text)
    {
        var line = Encoding.ASCII.GetBytes(text);
        _bytes.Write(line);
        return this;
    }

    public RecordingBuilder Bytes(params byte[] bytes)
    {
        _bytes.Write(bytes);
        return this;
    }

    public RecordingBuilder U16(int value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)value);
        _bytes.Write(b);
        return this;
    }

    public RecordingBuilder U32(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        _bytes.Write(b);
        return this;
    }

    public RecordingBuilder I16(short value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteInt16LittleEndian(b, value);
        _bytes.Write(b);
        return this;
    }

    public RecordingBuilder I32(int value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, value);
        _bytes.Write(b);
        return this;
    }

    public RecordingBuilder U32BigEndian(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        _bytes.Write(b);
        return this;
    }

    public byte[] ToArray() => _bytes.ToArray();
}

/// <summary>A stream that hands out at most <c>chunk</c> bytes per read, as a pipe may.</summary>
internal sealed class TrickleStream(byte[] data, int chunk) : Stream
{
    private int _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        int n = Math.Min(Math.Min(count, chunk), data.Length - _position);
        Array.Copy(data, _position, buffer, offset, n);
        _position += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
