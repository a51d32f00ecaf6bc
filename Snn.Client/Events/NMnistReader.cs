namespace Snn.Client.Events;

/// <summary>
/// N-MNIST (and N-Caltech101) <c>.bin</c>: no header, 5-byte events, bit 39–32 x, 31–24 y, bit 23
/// polarity (1 = ON), 22–0 timestamp in µs. A record with y = 240 is not an event but a timestamp
/// overflow marker: as in the dataset's reference reader, every later timestamp gains 2^13 µs.
/// </summary>
internal sealed class NMnistReader(ByteWindow window) : EventReader(window, EventFileFormat.NMnist)
{
    private const int RecordBytes = 5;
    private const int OverflowY = 240;
    private const long OverflowIncrement = 1 << 13;

    private long _timeBase;

    public override int Read(Span<PolarityEvent> destination)
    {
        int produced = 0;
        while (produced < destination.Length)
        {
            var bytes = Window.Available;
            int used = 0;
            while (used + RecordBytes <= bytes.Length && produced < destination.Length)
            {
                byte x = bytes[used], y = bytes[used + 1], b2 = bytes[used + 2];
                if (y == OverflowY)
                {
                    _timeBase += OverflowIncrement;
                }
                else
                {
                    long time = ((b2 & 0x7F) << 16) | (bytes[used + 3] << 8) | bytes[used + 4];
                    destination[produced++] = new PolarityEvent(x, y, (byte)(b2 >> 7), _timeBase + time);
                }

                used += RecordBytes;
            }

            Window.Consume(used);
            if (PassEnds(produced, destination.Length, RecordBytes, "an event; expected a 5-byte N-MNIST event"))
            {
                break;
            }
        }

        return produced;
    }
}
