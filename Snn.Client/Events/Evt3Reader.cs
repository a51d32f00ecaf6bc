using System.Buffers.Binary;
using System.Numerics;

namespace Snn.Client.Events;

/// <summary>
/// Prophesee EVT 3.0: 16-bit little-endian words, the type in bits 15–12, decoded against a state:
/// EVT_ADDR_Y (0x0) sets y (bits 10–0); EVT_ADDR_X (0x2) is one event at x (10–0) with polarity bit 11;
/// VECT_BASE_X (0x3) sets the base x and polarity of the vectors that follow; VECT_12 (0x4) and VECT_8
/// (0x5) are events at base + i for each set bit i of their 12- or 8-bit mask, and advance the base by
/// 12 or 8; EVT_TIME_LOW (0x6) and EVT_TIME_HIGH (0x8) set the low and high 12 bits of a 24-bit µs time.
/// That time wraps every 2^24 µs (16.8 s): a time-high more than half its range (2048) below the
/// previous one counts one wrap, so timestamps keep increasing; a smaller step back is kept as it is. CONTINUED_4 (0x7), EXT_TRIGGER (0xA), OTHERS (0xE) and CONTINUED_12
/// (0xF) are skipped; the other types are reserved and reported as corrupt.
/// </summary>
internal sealed class Evt3Reader(ByteWindow window) : EventReader(window, EventFileFormat.Evt3)
{
    private ushort _y;
    private int _baseX;
    private byte _polarity;
    private long _timeLow;
    private long _timeHigh = -1;
    private long _wraps;

    // A vector word whose events did not all fit in the caller's span.
    private uint _pendingMask;
    private int _pendingX;
    private byte _pendingPolarity;

    private long Timestamp => ((_wraps << 12) + Math.Max(_timeHigh, 0)) << 12 | _timeLow;

    public override int Read(Span<PolarityEvent> destination)
    {
        int produced = DrainVector(destination);
        while (produced < destination.Length)
        {
            var bytes = Window.Available;
            int used = 0;
            while (used + 2 <= bytes.Length && produced < destination.Length)
            {
                int word = BinaryPrimitives.ReadUInt16LittleEndian(bytes[used..]);
                used += 2;
                switch (word >> 12)
                {
                    case 0x0:
                        _y = (ushort)(word & 0x7FF);
                        break;
                    case 0x2:
                        destination[produced++] = new PolarityEvent((ushort)(word & 0x7FF), _y, (byte)((word >> 11) & 1), Timestamp);
                        break;
                    case 0x3:
                        _baseX = word & 0x7FF;
                        _polarity = (byte)((word >> 11) & 1);
                        break;
                    case 0x4:
                        StartVector((uint)(word & 0xFFF), 12);
                        produced += DrainVector(destination[produced..]);
                        break;
                    case 0x5:
                        StartVector((uint)(word & 0xFF), 8);
                        produced += DrainVector(destination[produced..]);
                        break;
                    case 0x6:
                        _timeLow = word & 0xFFF;
                        break;
                    case 0x8:
                        long high = word & 0xFFF;
                        if (_timeHigh - high > 2048)
                        {
                            _wraps++;
                        }

                        _timeHigh = high;
                        break;
                    case 0x7 or 0xA or 0xE or 0xF:
                        break;
                    default:
                        Window.Consume(used - 2);
                        throw new EventFormatException(Format, Window.Offset,
                            $"word 0x{word:X4} has the reserved type 0x{word >> 12:X}; expected EVT_ADDR_Y 0x0, EVT_ADDR_X 0x2, VECT_BASE_X 0x3, VECT_12 0x4, VECT_8 0x5, EVT_TIME_LOW 0x6, CONTINUED_4 0x7, EVT_TIME_HIGH 0x8, EXT_TRIGGER 0xA, OTHERS 0xE or CONTINUED_12 0xF");
                }
            }

            Window.Consume(used);
            if (PassEnds(produced, destination.Length, 2, "a word; expected a 2-byte EVT 3.0 word"))
            {
                break;
            }
        }

        return produced;
    }

    private void StartVector(uint mask, int width)
    {
        _pendingMask = mask;
        _pendingX = _baseX;
        _pendingPolarity = _polarity;
        _baseX += width;
    }

    private int DrainVector(Span<PolarityEvent> destination)
    {
        int produced = 0;
        long timestamp = Timestamp;
        while (_pendingMask != 0 && produced < destination.Length)
        {
            int bit = BitOperations.TrailingZeroCount(_pendingMask);
            _pendingMask &= _pendingMask - 1;
            destination[produced++] = new PolarityEvent((ushort)(_pendingX + bit), _y, _pendingPolarity, timestamp);
        }

        return produced;
    }
}
