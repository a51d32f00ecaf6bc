using System.Text;

namespace Snn.Client.Events;

/// <summary>
/// A fixed buffer over a stream: the readers decode from <see cref="Available"/>, <see cref="Consume"/>
/// what they used and <see cref="Fill"/> when a word or record does not fit in what is left. Memory is
/// the buffer whatever the stream's length; <see cref="Offset"/> is the stream offset of the next byte.
/// </summary>
internal sealed class ByteWindow
{
    /// <summary>Buffer size: 64 KiB.</summary>
    public const int Capacity = 1 << 16;

    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[Capacity];
    private int _start;
    private int _end;
    private long _origin;
    private bool _ended;

    public ByteWindow(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
    }

    /// <summary>Stream offset of the first byte of <see cref="Available"/>.</summary>
    public long Offset => _origin + _start;

    public ReadOnlySpan<byte> Available => _buffer.AsSpan(_start, _end - _start);

    public int Count => _end - _start;

    public void Consume(int count)
    {
        _start += count;
    }

    /// <summary>
    /// Moves what is left to the front and reads once more from the stream (a pipe may return less than
    /// asked). False at the end of the stream, when nothing more came.
    /// </summary>
    public bool Fill()
    {
        if (_ended)
        {
            return false;
        }

        if (_start > 0)
        {
            int left = _end - _start;
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, left);
            _origin += _start;
            _start = 0;
            _end = left;
        }

        if (_end == _buffer.Length)
        {
            return true;
        }

        int read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0)
        {
            _ended = true;
            return false;
        }

        _end += read;
        return true;
    }

    /// <summary>Fills until at least <paramref name="count"/> bytes are available; false if the stream ends first.</summary>
    public bool Ensure(int count)
    {
        while (Count < count)
        {
            if (!Fill())
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The next byte without consuming it; -1 at the end of the stream.</summary>
    public int Peek() => Ensure(1) ? _buffer[_start] : -1;

    /// <summary>Whether the next bytes are <paramref name="prefix"/> (ASCII).</summary>
    public bool StartsWith(string prefix)
    {
        Ensure(prefix.Length);
        var available = Available;
        if (available.Length < prefix.Length)
        {
            return false;
        }

        for (int i = 0; i < prefix.Length; i++)
        {
            if (available[i] != prefix[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Reads one header line up to and including '\n'; returns it without the line end ("\r\n" or "\n").</summary>
    public string ReadLine(EventFileFormat format)
    {
        long offset = Offset;
        int scanned = 0;
        while (true)
        {
            int newline = Available[scanned..].IndexOf((byte)'\n');
            if (newline >= 0)
            {
                int length = scanned + newline;
                var line = Available[..length];
                if (line.Length > 0 && line[^1] == '\r')
                {
                    line = line[..^1];
                }

                var text = Encoding.Latin1.GetString(line);
                Consume(length + 1);
                return text;
            }

            scanned = Count;
            if (scanned >= Capacity)
            {
                throw new EventFormatException(format, offset, $"a header line longer than {Capacity} bytes; expected a line ending in '\\n'");
            }

            if (!Fill())
            {
                throw new EventFormatException(format, offset, "the stream ends inside a header line; expected a line ending in '\\n'");
            }
        }
    }
}
