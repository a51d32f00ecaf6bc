using System.Buffers.Binary;

namespace Snn.Client.Events;

/// <summary>
/// jAER AEDAT 2.0: header lines starting with '#', the first <c>#!AER-DAT2.0</c>, then 8-byte events,
/// a big-endian 32-bit address and a big-endian 32-bit timestamp in µs. The address layout depends on
/// the camera (<see cref="Aedat2Layout"/>); addresses that are not polarity events (external events,
/// APS/IMU samples) are skipped. The 32-bit timestamp wraps after 2^32 µs; a timestamp more than 2^31
/// below the previous one counts one wrap so that the time keeps increasing (a smaller step back, as
/// a timestamp reset gives, is kept as it is).
/// </summary>
internal sealed class Aedat2Reader : EventReader
{
    private const int RecordBytes = 8;
    private readonly Aedat2Layout _layout;
    private long _previous;
    private long _wraps;

    private Aedat2Reader(ByteWindow window, Aedat2Layout layout)
        : base(window, EventFileFormat.Aedat2)
    {
        _layout = layout;
    }

    public static Aedat2Reader Open(ByteWindow window, Aedat2Layout layout)
    {
        if (!window.StartsWith("#!AER-DAT2.0"))
        {
            throw new EventFormatException(EventFileFormat.Aedat2, window.Offset, "expected the first header line '#!AER-DAT2.0'");
        }

        while (window.Peek() == '#')
        {
            window.ReadLine(EventFileFormat.Aedat2);
        }

        return new Aedat2Reader(window, layout);
    }

    public override int Read(Span<PolarityEvent> destination)
    {
        int produced = 0;
        while (produced < destination.Length)
        {
            var bytes = Window.Available;
            int used = 0;
            while (used + RecordBytes <= bytes.Length && produced < destination.Length)
            {
                uint address = BinaryPrimitives.ReadUInt32BigEndian(bytes[used..]);
                long time = BinaryPrimitives.ReadUInt32BigEndian(bytes[(used + 4)..]);
                used += RecordBytes;
                if (_previous - time > (1L << 31))
                {
                    _wraps++;
                }

                _previous = time;
                time += _wraps << 32;
                if (_layout == Aedat2Layout.Dvs128)
                {
                    if ((address & 0x8000) == 0)
                    {
                        destination[produced++] = new PolarityEvent((ushort)((address >> 1) & 0x7F), (ushort)((address >> 8) & 0x7F), (byte)(address & 1), time);
                    }
                }
                else if ((address & 0x8000_0400) == 0)
                {
                    destination[produced++] = new PolarityEvent((ushort)((address >> 12) & 0x3FF), (ushort)((address >> 22) & 0x1FF), (byte)((address >> 11) & 1), time);
                }
            }

            Window.Consume(used);
            if (PassEnds(produced, destination.Length, RecordBytes, "an event; expected an 8-byte AEDAT 2.0 event (address, timestamp)"))
            {
                break;
            }
        }

        return produced;
    }
}
