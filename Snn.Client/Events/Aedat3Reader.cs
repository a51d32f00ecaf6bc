using System.Buffers.Binary;

namespace Snn.Client.Events;

/// <summary>
/// AEDAT 3.1: header lines starting with '#', the first <c>#!AER-DAT3.1</c> and the last
/// <c>#!END-HEADER</c>, then packets. A packet is a 28-byte little-endian header (int16 eventType,
/// int16 eventSource, int32 eventSize, eventTSOffset, eventTSOverflow, eventCapacity, eventNumber,
/// eventValid) followed by eventCapacity × eventSize bytes (libcaer's packet size; in files eventCapacity
/// equals eventNumber). Polarity packets (type 1) hold 8-byte events: int32 data (bit 0 valid, bit 1
/// polarity, bits 2–16 y, bits 17–31 x) and int32 timestamp, extended to 64 bits by
/// <c>eventTSOverflow &lt;&lt; 31</c>. Invalid events and the packets of other types are skipped.
/// </summary>
internal sealed class Aedat3Reader : EventReader
{
    private const int HeaderBytes = 28;
    private const int PolarityType = 1;
    private const int PolarityBytes = 8;

    private int _eventsLeft;
    private long _bytesToSkip;
    private long _overflow;

    private Aedat3Reader(ByteWindow window)
        : base(window, EventFileFormat.Aedat3)
    {
    }

    public static Aedat3Reader Open(ByteWindow window)
    {
        if (!window.StartsWith("#!AER-DAT3.1"))
        {
            throw new EventFormatException(EventFileFormat.Aedat3, window.Offset, "expected the first header line '#!AER-DAT3.1'");
        }

        while (true)
        {
            long offset = window.Offset;
            if (window.Peek() != '#')
            {
                throw new EventFormatException(EventFileFormat.Aedat3, offset, "expected a '#' header line; the header must end with '#!END-HEADER'");
            }

            if (window.ReadLine(EventFileFormat.Aedat3) == "#!END-HEADER")
            {
                return new Aedat3Reader(window);
            }
        }
    }

    public override int Read(Span<PolarityEvent> destination)
    {
        int produced = 0;
        while (produced < destination.Length)
        {
            if (_eventsLeft > 0)
            {
                var bytes = Window.Available;
                int used = 0;
                while (_eventsLeft > 0 && used + PolarityBytes <= bytes.Length && produced < destination.Length)
                {
                    uint data = BinaryPrimitives.ReadUInt32LittleEndian(bytes[used..]);
                    long time = BinaryPrimitives.ReadInt32LittleEndian(bytes[(used + 4)..]) & 0x7FFF_FFFFL;
                    used += PolarityBytes;
                    _eventsLeft--;
                    if ((data & 1) != 0)
                    {
                        destination[produced++] = new PolarityEvent((ushort)((data >> 17) & 0x7FFF), (ushort)((data >> 2) & 0x7FFF), (byte)((data >> 1) & 1), (_overflow << 31) | time);
                    }
                }

                Window.Consume(used);
                if (_eventsLeft > 0 && Window.Count < PolarityBytes)
                {
                    if (produced > 0)
                    {
                        break;
                    }

                    if (!Window.Fill())
                    {
                        throw new EventFormatException(Format, Window.Offset,
                            $"the stream ends inside a polarity packet; expected {_eventsLeft} more 8-byte event(s)");
                    }
                }

                continue;
            }

            if (_bytesToSkip > 0)
            {
                int skip = (int)Math.Min(_bytesToSkip, Window.Count);
                Window.Consume(skip);
                _bytesToSkip -= skip;
                if (_bytesToSkip > 0 && !Window.Fill())
                {
                    throw new EventFormatException(Format, Window.Offset,
                        $"the stream ends inside a packet; expected {_bytesToSkip} more byte(s) of it");
                }

                continue;
            }

            if (Window.Count < HeaderBytes && produced > 0)
            {
                break;
            }

            if (!Window.Ensure(HeaderBytes))
            {
                if (Window.Count > 0)
                {
                    throw new EventFormatException(Format, Window.Offset,
                        $"the stream ends {Window.Count} byte(s) into a packet header; expected a 28-byte AEDAT 3.1 packet header");
                }

                break;
            }

            StartPacket();
        }

        return produced;
    }

    private void StartPacket()
    {
        long offset = Window.Offset;
        var header = Window.Available[..HeaderBytes];
        int type = BinaryPrimitives.ReadInt16LittleEndian(header);
        int size = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        int overflow = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
        int capacity = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
        int number = BinaryPrimitives.ReadInt32LittleEndian(header[20..]);
        if (size <= 0 || capacity < 0 || number < 0 || number > capacity || overflow < 0)
        {
            throw new EventFormatException(Format, offset,
                $"packet header with eventSize {size}, eventCapacity {capacity}, eventNumber {number}, eventTSOverflow {overflow}; expected eventSize > 0, 0 <= eventNumber <= eventCapacity and eventTSOverflow >= 0");
        }

        if (type == PolarityType && size != PolarityBytes)
        {
            throw new EventFormatException(Format, offset, $"polarity packet (type 1) with eventSize {size}; expected 8");
        }

        Window.Consume(HeaderBytes);
        if (type == PolarityType)
        {
            _overflow = overflow;
            _eventsLeft = number;
            _bytesToSkip = (long)(capacity - number) * size; // unused capacity, after the events
        }
        else
        {
            _bytesToSkip = (long)capacity * size;
        }
    }
}
