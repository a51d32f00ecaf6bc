using Snn.Client.Events;

namespace Snn.Client.Tests.Events;

/// <summary>
/// Each format written byte by byte from its specification (RecordingBuilder), decoded, and compared
/// with the events the specification says the bytes hold; truncated and corrupt streams name the offset.
/// </summary>
public sealed class EventReaderTests
{
    // EVT 2.0 words: type in bits 31-28; CD: ts low 27-22, x 21-11, y 10-0; TIME_HIGH: 27-0.
    private static uint Evt2Cd(uint type, uint timeLow, uint x, uint y) => (type << 28) | (timeLow << 22) | (x << 11) | y;

    private static uint Evt2TimeHigh(uint high) => (0x8u << 28) | high;

    [Fact]
    public void Evt2_decodes_cd_events_with_the_time_high_word_and_skips_triggers()
    {
        var bytes = new RecordingBuilder()
            .Line("% camera_integrator_name Prophesee\n% evt 2.0\n% geometry 640x480\n% end\n")
            .U32(Evt2TimeHigh(1))
            .U32(Evt2Cd(1, 3, 5, 7))
            .U32(Evt2Cd(0, 63, 2047, 2047))
            .U32((0xAu << 28) | (5u << 22) | (1u << 8) | 1) // EXT_TRIGGER
            .U32(Evt2TimeHigh(0x0FFF_FFFF))
            .U32(Evt2Cd(1, 0, 639, 0))
            .ToArray();

        var reader = EventReader.Open(new MemoryStream(bytes));
        Assert.Equal(EventFileFormat.Evt2, reader.Format);
        Assert.Equal(640, reader.Width);
        Assert.Equal(480, reader.Height);
        Assert.Equal(
            [
                new PolarityEvent(5, 7, 1, (1L << 6) | 3),
                new PolarityEvent(2047, 2047, 0, (1L << 6) | 63),
                new PolarityEvent(639, 0, 1, 0x0FFF_FFFFL << 6),
            ],
            ReadAll(reader));
    }

    [Fact]
    public void Evt2_reserved_word_type_and_truncated_word_name_the_offset()
    {
        const string header = "% evt 2.0\n% end\n";
        var corrupt = new RecordingBuilder().Line(header).U32(Evt2Cd(1, 0, 1, 1)).U32(0x3000_0000).ToArray();
        var e = Assert.Throws<EventFormatException>(() => ReadAll(EventReader.Open(new MemoryStream(corrupt))));
        Assert.Equal(header.Length + 4, e.Offset);
        Assert.Contains($"byte offset {header.Length + 4}", e.Message);
        Assert.Contains("reserved type 0x3", e.Message);

        var truncated = new RecordingBuilder().Line(header).U32(Evt2Cd(1, 0, 1, 1)).Bytes(1, 2).ToArray();
        e = Assert.Throws<EventFormatException>(() => ReadAll(EventReader.Open(new MemoryStream(truncated), EventFileFormat.Evt2)));
        Assert.Equal(header.Length + 4, e.Offset);
        Assert.Contains("expected a 4-byte EVT 2.0 word", e.Message);
    }

    [Fact]
    public void Evt2_header_that_declares_another_format_is_refused()
    {
        var bytes = new RecordingBuilder().Line("% evt 3.0\n% end\n").ToArray();
        var e = Assert.Throws<EventFormatException>(() => EventReader.Open(new MemoryStream(bytes), EventFileFormat.Evt2));
        Assert.Contains("declares EVT 3.0", e.Message);
    }

    // EVT 3.0 words: type in bits 15-12.
    private static int Evt3(int type, int payload) => (type << 12) | payload;

    private static byte[] Evt3Recording() => new RecordingBuilder()
        .Line("% format EVT3;height=720;width=1280\n% end\n")
        .U16(Evt3(0x8, 1))                        // TIME_HIGH 1
        .U16(Evt3(0x6, 5))                        // TIME_LOW 5      -> t = 1 << 12 | 5
        .U16(Evt3(0x0, 10))                       // ADDR_Y 10
        .U16(Evt3(0x2, (1 << 11) | 100))          // ADDR_X x 100, ON
        .U16(Evt3(0x3, 200))                      // VECT_BASE_X 200, OFF
        .U16(Evt3(0x4, 0b1000_0000_0101))         // VECT_12: x 200, 202, 211; base -> 212
        .U16(Evt3(0x5, 0b1000_0001))              // VECT_8: x 212, 219; base -> 220
        .U16(Evt3(0x7, 0xABC))                    // CONTINUED_4, skipped
        .U16(Evt3(0x4, 1))                        // VECT_12: x 220
        .U16(Evt3(0x0, (1 << 11) | 11))           // ADDR_Y 11 (system type bit set)
        .U16(Evt3(0xA, 0))                        // EXT_TRIGGER, skipped
        .U16(Evt3(0x8, 4095))                     // TIME_HIGH 4095
        .U16(Evt3(0x6, 4095))                     // TIME_LOW 4095   -> t = 2^24 - 1
        .U16(Evt3(0x2, 3))                        // ADDR_X 3, OFF
        .U16(Evt3(0x8, 0))                        // TIME_HIGH 0: the 24-bit time wrapped
        .U16(Evt3(0x6, 1))                        // TIME_LOW 1      -> t = 2^24 + 1
        .U16(Evt3(0x2, (1 << 11) | 4))            // ADDR_X 4, ON
        .ToArray();

    private static readonly PolarityEvent[] Evt3Expected =
    [
        new(100, 10, 1, (1 << 12) | 5),
        new(200, 10, 0, (1 << 12) | 5),
        new(202, 10, 0, (1 << 12) | 5),
        new(211, 10, 0, (1 << 12) | 5),
        new(212, 10, 0, (1 << 12) | 5),
        new(219, 10, 0, (1 << 12) | 5),
        new(220, 10, 0, (1 << 12) | 5),
        new(3, 11, 0, (1 << 24) - 1),
        new(4, 11, 1, (1 << 24) + 1),
    ];

    [Fact]
    public void Evt3_decodes_single_events_vectors_and_the_time_high_wrap()
    {
        var reader = EventReader.Open(new MemoryStream(Evt3Recording()));
        Assert.Equal(EventFileFormat.Evt3, reader.Format);
        Assert.Equal(1280, reader.Width);
        Assert.Equal(720, reader.Height);
        Assert.Equal(Evt3Expected, ReadAll(reader));
    }

    [Fact]
    public void Evt3_vectors_split_across_small_batches_and_a_trickling_stream_give_the_same_events()
    {
        var reader = EventReader.Open(new TrickleStream(Evt3Recording(), 3), EventFileFormat.Evt3);
        Assert.Equal(Evt3Expected, ReadAll(reader, batch: 1));
    }

    [Fact]
    public void Evt3_time_high_a_little_below_the_previous_is_not_a_wrap()
    {
        var bytes = new RecordingBuilder()
            .Line("% evt 3.0\n% end\n")
            .U16(Evt3(0x8, 5)).U16(Evt3(0x6, 0)).U16(Evt3(0x0, 1)).U16(Evt3(0x2, 1))
            .U16(Evt3(0x8, 4)).U16(Evt3(0x2, 2))            // 1 back: kept, no wrap
            .U16(Evt3(0x8, 2100)).U16(Evt3(0x2, 3))
            .U16(Evt3(0x8, 2)).U16(Evt3(0x2, 4))            // 2098 back: a wrap
            .ToArray();
        Assert.Equal(
            [
                new PolarityEvent(1, 1, 0, 5 << 12),
                new PolarityEvent(2, 1, 0, 4 << 12),
                new PolarityEvent(3, 1, 0, 2100 << 12),
                new PolarityEvent(4, 1, 0, (1 << 24) + (2 << 12)),
            ],
            ReadAll(EventReader.Open(new MemoryStream(bytes))));
    }

    [Fact]
    public void Evt3_reserved_type_and_odd_trailing_byte_name_the_offset()
    {
        const string header = "% evt 3.0\n";
        var corrupt = new RecordingBuilder().Line(header).U16(Evt3(0x0, 1)).U16(Evt3(0x9, 0)).ToArray();
        var e = Assert.Throws<EventFormatException>(() => ReadAll(EventReader.Open(new MemoryStream(corrupt))));
        Assert.Equal(header.Length + 2, e.Offset);
        Assert.Contains("reserved type 0x9", e.Message);

        var truncated = new RecordingBuilder().Line(header).U16(Evt3(0x2, 1)).Bytes(0x20).ToArray();
        e = Assert.Throws<EventFormatException>(() => ReadAll(EventReader.Open(new MemoryStream(truncated))));
        Assert.Equal(header.Length + 2, e.Offset);
        Assert.Contains("expected a 2-byte EVT 3.0 word", e.Message);
    }

    // N-MNIST: 40 bits, x (39-32), y (31-24), polarity (23), timestamp (22-0).
    private static byte[] NMnistEvent(int x, int y, int polarity, int time) =>
        [(byte)x, (byte)y, (byte)((polarity << 7) | (time >> 16)), (byte)(time >> 8), (byte)time];

    [Fact]
    public void NMnist_decodes_events_and_the_overflow_marker_adds_2_to_the_13()
    {
        var bytes = new RecordingBuilder()
            .Bytes(NMnistEvent(1, 2, 1, 100))
            .Bytes(NMnistEvent(33, 33, 0, 0x7F_FFFF))
            .Bytes(NMnistEvent(0, 240, 0, 0))          // overflow marker: not an event
            .Bytes(NMnistEvent(3, 4, 0, 50))
            .ToArray();
        Assert.Equal(
            [
                new PolarityEvent(1, 2, 1, 100),
                new PolarityEvent(33, 33, 0, 0x7F_FFFF),
                new PolarityEvent(3, 4, 0, 8192 + 50),
            ],
            ReadAll(EventReader.Open(new MemoryStream(bytes), EventFileFormat.NMnist)));
    }

    [Fact]
    public void NMnist_truncated_event_names_the_offset_and_auto_detection_asks_for_the_format()
    {
        var bytes = new RecordingBuilder().Bytes(NMnistEvent(1, 2, 1, 100)).Bytes(NMnistEvent(1, 2, 1, 100)).Bytes(9, 9, 9).ToArray();
        var e = Assert.Throws<EventFormatException>(() => ReadAll(EventReader.Open(new MemoryStream(bytes), EventFileFormat.NMnist)));
        Assert.Equal(10, e.Offset);
        Assert.Contains("3 byte(s) into an event; expected a 5-byte N-MNIST event", e.Message);

        e = Assert.Throws<EventFormatException>(() => EventReader.Open(new MemoryStream(bytes)));
        Assert.Contains("give the format", e.Message);
    }

    // AEDAT 2.0, DVS128 address: bit 0 polarity, 1-7 x, 8-14 y, bit 15 external event.
    private static uint Dvs128(uint x, uint y, uint polarity) => (y << 8) | (x << 1) | polarity;

    [Fact]
    public void Aedat2_dvs128_decodes_big_endian_address_and_timestamp_and_skips_external_events()
    {
        var bytes = new RecordingBuilder()
            .Line("#!AER-DAT2.0\r\n# This is a raw AE data file - do not edit\r\n# Data format is int32 address, int32 timestamp (8 bytes total)\r\n")
            .U32BigEndian(Dvs128(127, 0, 1)).U32BigEndian(10)
            .U32BigEndian(0x8000).U32BigEndian(11)                    // external event
            .U32BigEndian(Dvs128(0, 127, 0)).U32BigEndian(0xFFFF_FFFF)
            .U32BigEndian(Dvs128(64, 32, 1)).U32BigEndian(5)           // 32-bit time wrapped
            .ToArray();
        var reader = EventReader.Open(new MemoryStream(bytes));
        Assert.Equal(EventFileFormat.Aedat2, reader.Format);
        Assert.Equal(
            [
                new PolarityEvent(127, 0, 1, 10),
                new PolarityEvent(0, 127, 0, 0xFFFF_FFFFL),
                new PolarityEvent(64, 32, 1, (1L << 32) + 5),
            ],
            ReadAll(reader));
    }

    [Fact]
    public void Aedat2_davis_layout_and_truncated_event()
    {
        const string header = "#!AER-DAT2.0\r\n";
        var bytes = new RecordingBuilder()
            .Line(header)
            .U32BigEndian((179u << 22) | (239u << 12) | (1u << 11)).U32BigEndian(7)
            .U32BigEndian(0x8000_0000u | (1u << 22)).U32BigEndian(8)   // APS sample
            .U32BigEndian((1u << 22) | (2u << 12)).U32BigEndian(9)
            .Bytes(0, 0, 0, 1, 0)
            .ToArray();
        var reader = EventReader.Open(new MemoryStream(bytes), EventFileFormat.Aedat2, Aedat2Layout.Davis);
        var events = new PolarityEvent[16];
        Assert.Equal(2, reader.Read(events));
        Assert.Equal(new PolarityEvent(239, 179, 1, 7), events[0]);
        Assert.Equal(new PolarityEvent(2, 1, 0, 9), events[1]);
        var e = Assert.Throws<EventFormatException>(() => reader.Read(events));
        Assert.Equal(header.Length + 24, e.Offset);
        Assert.Contains("expected an 8-byte AEDAT 2.0 event", e.Message);
    }

    // AEDAT 3.1 polarity event data: bit 0 valid, bit 1 polarity, 2-16 y, 17-31 x.
    private static uint Aedat3Polarity(uint x, uint y, uint polarity, bool valid) => (x << 17) | (y << 2) | (polarity << 1) | (valid ? 1u : 0u);

    private static RecordingBuilder PacketHeader(RecordingBuilder b, short type, int size, int overflow, int count) =>
        b.I16(type).I16(1).I32(size).I32(4).I32(overflow).I32(count).I32(count).I32(count);

    private const string Aedat3Header = "#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#Start-Time: 2017-01-01 00:00:00 (TZ+0000)\r\n#!END-HEADER\r\n";

    [Fact]
    public void Aedat3_decodes_polarity_packets_skips_other_packets_and_invalid_events()
    {
        var b = new RecordingBuilder().Line(Aedat3Header);
        PacketHeader(b, 0, 8, 0, 2).U32(1).I32(1).U32(1).I32(2);                         // special events: skipped
        PacketHeader(b, 1, 8, 0, 3)
            .U32(Aedat3Polarity(5, 6, 1, true)).I32(100)
            .U32(Aedat3Polarity(7, 8, 0, false)).I32(101)                                 // invalid: skipped
            .U32(Aedat3Polarity(345, 259, 0, true)).I32(int.MaxValue);
        PacketHeader(b, 2, 20, 0, 1).Bytes(new byte[20]);                                  // frame-like packet, other size
        PacketHeader(b, 1, 8, 1, 1).U32(Aedat3Polarity(1, 2, 1, true)).I32(3);            // tsOverflow 1
        var reader = EventReader.Open(new MemoryStream(b.ToArray()));
        Assert.Equal(EventFileFormat.Aedat3, reader.Format);
        Assert.Equal(
            [
                new PolarityEvent(5, 6, 1, 100),
                new PolarityEvent(345, 259, 0, int.MaxValue),
                new PolarityEvent(1, 2, 1, (1L << 31) | 3),
            ],
            ReadAll(reader, batch: 2));
    }

    [Fact]
    public void Aedat3_truncated_packet_and_corrupt_header_name_the_offset()
    {
        var b = new RecordingBuilder().Line(Aedat3Header);
        PacketHeader(b, 1, 8, 0, 2).U32(Aedat3Polarity(5, 6, 1, true)).I32(100).Bytes(1, 2, 3);
        var e = Assert.Throws<EventFormatException>(() => ReadAll(EventReader.Open(new MemoryStream(b.ToArray()))));
        Assert.Equal(Aedat3Header.Length + 28 + 8, e.Offset);
        Assert.Contains("expected 1 more 8-byte event(s)", e.Message);

        b = new RecordingBuilder().Line(Aedat3Header);
        PacketHeader(b, 1, 12, 0, 1).Bytes(new byte[12]);
        e = Assert.Throws<EventFormatException>(() => ReadAll(EventReader.Open(new MemoryStream(b.ToArray()))));
        Assert.Equal(Aedat3Header.Length, e.Offset);
        Assert.Contains("eventSize 12; expected 8", e.Message);

        var noEnd = new RecordingBuilder().Line("#!AER-DAT3.1\r\n#Format: RAW\r\n").Bytes(1, 0, 1, 0).ToArray();
        e = Assert.Throws<EventFormatException>(() => EventReader.Open(new MemoryStream(noEnd)));
        Assert.Equal(28, e.Offset);
        Assert.Contains("#!END-HEADER", e.Message);
    }

    [Fact]
    public void A_recording_larger_than_the_buffer_streams_through_it()
    {
        // 300,000 EVT 2.0 events (1.2 MB, many times the reader's 64 KiB buffer), a time-high word every 64 µs.
        const int count = 300_000;
        var b = new RecordingBuilder().Line("% evt 2.0\n% end\n");
        for (uint i = 0; i < count; i++)
        {
            if (i % 64 == 0)
            {
                b.U32(Evt2TimeHigh(i / 64));
            }

            b.U32(Evt2Cd(i & 1, i % 64, i % 1280, i % 720));
        }

        var reader = EventReader.Open(new TrickleStream(b.ToArray(), 10_007));
        var batch = new PolarityEvent[4096];
        long total = 0;
        int n;
        while ((n = reader.Read(batch)) > 0)
        {
            for (int k = 0; k < n; k++, total++)
            {
                var expected = new PolarityEvent((ushort)(total % 1280), (ushort)(total % 720), (byte)(total & 1), total);
                if (batch[k] != expected)
                {
                    Assert.Equal(expected, batch[k]);
                }
            }
        }

        Assert.Equal(count, total);
        Assert.Equal(b.Length, reader.Position);
    }

    private static List<PolarityEvent> ReadAll(EventReader reader, int batch = 64)
    {
        var events = new List<PolarityEvent>();
        var buffer = new PolarityEvent[batch];
        int n;
        while ((n = reader.Read(buffer)) > 0)
        {
            events.AddRange(buffer.AsSpan(0, n));
        }

        return events;
    }
}
