using System.Buffers.Binary;

namespace Snn.Client.Events;

/// <summary>
/// Prophesee EVT 2.0: 32-bit little-endian words, the type in bits 31–28. CD_OFF (0x0) and CD_ON (0x1)
/// carry the 6 low timestamp bits (27–22), x (21–11) and y (10–0); EVT_TIME_HIGH (0x8) carries the
/// 28 high bits (27–0), so a timestamp is <c>high &lt;&lt; 6 | low</c> (34 bits of µs). EXT_TRIGGER (0xA),
/// OTHERS (0xE) and CONTINUED (0xF) are skipped; every other type is reserved and reported as corrupt.
/// </summary>
internal sealed class Evt2Reader(ByteWindow window) : EventReader(window, EventFileFormat.Evt2)
{
    private long _timeHigh;

    public override int Read(Span<PolarityEvent> destination)
    {
        int produced = 0;
        while (produced < destination.Length)
        {
            var bytes = Window.Available;
            int words = Math.Min(bytes.Length >> 2, destination.Length - produced);
            int used = 0;
            for (int w = 0; w < words; w++, used += 4)
            {
                uint word = BinaryPrimitives.ReadUInt32LittleEndian(bytes[used..]);
                uint type = word >> 28;
                if (type <= 1)
                {
                    destination[produced++] = new PolarityEvent(
                        (ushort)((word >> 11) & 0x7FF),
                        (ushort)(word & 0x7FF),
                        (byte)type,
                        (_timeHigh << 6) | ((word >> 22) & 0x3F));
                }
                else if (type == 0x8)
                {
                    _timeHigh = word & 0x0FFF_FFFF;
                }
                else if (type is not (0xA or 0xE or 0xF))
                {
                    Window.Consume(used);
                    throw new EventFormatException(Format, Window.Offset,
                        $"word 0x{word:X8} has the reserved type 0x{type:X}; expected CD_OFF 0x0, CD_ON 0x1, EVT_TIME_HIGH 0x8, EXT_TRIGGER 0xA, OTHERS 0xE or CONTINUED 0xF");
                }
            }

            Window.Consume(used);
            if (PassEnds(produced, destination.Length, 4, "a word; expected a 4-byte EVT 2.0 word"))
            {
                break;
            }
        }

        return produced;
    }
}
