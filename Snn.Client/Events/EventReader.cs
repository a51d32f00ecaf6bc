using System.Globalization;

namespace Snn.Client.Events;

/// <summary>
/// Decodes an event-camera recording from a stream, a batch at a time, into a caller's span:
/// <c>while ((n = reader.Read(buffer)) &gt; 0) { ... buffer[..n] ... }</c>. Memory is one fixed 64 KiB
/// buffer whatever the stream's length, and no call allocates per event. <see cref="Read"/> returns as
/// soon as it has events and the bytes already received are used up, so live pipes are not held back.
/// A truncated or malformed stream throws <see cref="EventFormatException"/> with the byte offset.
/// </summary>
public abstract class EventReader
{
    private protected EventReader(ByteWindow window, EventFileFormat format)
    {
        Window = window;
        Format = format;
    }

    /// <summary>The format being decoded.</summary>
    public EventFileFormat Format { get; }

    /// <summary>Sensor width declared by the header (Prophesee <c>geometry</c>/<c>format</c> lines), if any.</summary>
    public int? Width { get; private protected set; }

    /// <summary>Sensor height declared by the header, if any.</summary>
    public int? Height { get; private protected set; }

    /// <summary>Bytes of the stream consumed so far (header included).</summary>
    public long Position => Window.Offset;

    private protected ByteWindow Window { get; }

    /// <summary>
    /// The end of one pass over the buffered bytes of a format made of fixed-size units (records or words),
    /// after the pass consumed what it decoded: true when <c>Read</c> should return (the destination is full,
    /// events are in hand and no whole unit is buffered, or the stream ended cleanly); otherwise the window
    /// is refilled for another pass. A stream that ends inside a unit throws, naming <paramref name="expected"/>.
    /// </summary>
    private protected bool PassEnds(int produced, int capacity, int unitBytes, string expected)
    {
        if (produced == capacity || (produced > 0 && Window.Count < unitBytes))
        {
            return true;
        }

        if (Window.Count < unitBytes && !Window.Fill())
        {
            if (Window.Count > 0)
            {
                throw new EventFormatException(Format, Window.Offset, $"the stream ends {Window.Count} byte(s) into {expected}");
            }

            return true;
        }

        return false;
    }

    /// <summary>
    /// Opens a reader over <paramref name="stream"/> (read from its current position to its end; not
    /// disposed by the reader). With <see cref="EventFileFormat.Auto"/> the header decides.
    /// </summary>
    /// <exception cref="EventFormatException">The header is missing, unknown or says another format.</exception>
    public static EventReader Open(Stream stream, EventFileFormat format = EventFileFormat.Auto, Aedat2Layout aedat2Layout = Aedat2Layout.Dvs128)
    {
        var window = new ByteWindow(stream);
        PropheseeHeader header = default;
        if ((format is EventFileFormat.Auto or EventFileFormat.Evt2 or EventFileFormat.Evt3) && window.Peek() == '%')
        {
            header = PropheseeHeader.Read(window, format);
            if (format == EventFileFormat.Auto)
            {
                format = header.Format ?? throw new EventFormatException(EventFileFormat.Auto, 0,
                    "a Prophesee header without an 'evt' or 'format' line; give the format (evt2 or evt3)");
            }
            else if (header.Format is { } declared && declared != format)
            {
                throw new EventFormatException(format, 0, $"the header declares {EventFileFormats.DisplayName(declared)}; expected {EventFileFormats.DisplayName(format)}");
            }
        }

        if (format == EventFileFormat.Auto)
        {
            format = Detect(window);
        }

        EventReader reader = format switch
        {
            EventFileFormat.Evt2 => new Evt2Reader(window),
            EventFileFormat.Evt3 => new Evt3Reader(window),
            EventFileFormat.NMnist => new NMnistReader(window),
            EventFileFormat.Aedat2 => Aedat2Reader.Open(window, aedat2Layout),
            EventFileFormat.Aedat3 => Aedat3Reader.Open(window),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown event file format"),
        };
        reader.Width ??= header.Width;
        reader.Height ??= header.Height;
        return reader;
    }

    /// <summary>Decodes up to <c>destination.Length</c> events; 0 at the end of the stream.</summary>
    /// <exception cref="EventFormatException">The stream is truncated or malformed at the offset it names.</exception>
    public abstract int Read(Span<PolarityEvent> destination);

    private static EventFileFormat Detect(ByteWindow window)
    {
        if (window.StartsWith("#!AER-DAT2"))
        {
            return EventFileFormat.Aedat2;
        }

        if (window.StartsWith("#!AER-DAT3"))
        {
            return EventFileFormat.Aedat3;
        }

        throw new EventFormatException(EventFileFormat.Auto, 0,
            "cannot recognise the format: expected a Prophesee '%' header, '#!AER-DAT2.0' or '#!AER-DAT3.1' (N-MNIST .bin files have no header: give the format)");
    }

    /// <summary>The ASCII header of a Prophesee RAW file: lines starting with '%', ended by "% end" or the first other byte.</summary>
    private readonly record struct PropheseeHeader(EventFileFormat? Format, int? Width, int? Height)
    {
        /// <summary>Reads (consumes) the header lines.</summary>
        public static PropheseeHeader Read(ByteWindow window, EventFileFormat format)
        {
            EventFileFormat? declared = null;
            int? width = null, height = null;
            while (window.Peek() == '%')
            {
                long offset = window.Offset;
                var line = window.ReadLine(format)[1..].Trim();
                if (line.Equals("end", StringComparison.OrdinalIgnoreCase))
                {
                    break;
                }

                int space = line.IndexOf(' ', StringComparison.Ordinal);
                var key = space < 0 ? line : line[..space];
                var value = space < 0 ? "" : line[(space + 1)..].Trim();
                if (key.Equals("evt", StringComparison.OrdinalIgnoreCase))
                {
                    declared = value switch
                    {
                        "2.0" => EventFileFormat.Evt2,
                        "3.0" => EventFileFormat.Evt3,
                        _ => throw new EventFormatException(format, offset, $"'% evt {value}' is not supported; expected evt 2.0 or evt 3.0"),
                    };
                }
                else if (key.Equals("format", StringComparison.OrdinalIgnoreCase))
                {
                    var parts = value.Split(';', StringSplitOptions.TrimEntries);
                    declared = parts[0].ToUpperInvariant() switch
                    {
                        "EVT2" => EventFileFormat.Evt2,
                        "EVT3" => EventFileFormat.Evt3,
                        _ => throw new EventFormatException(format, offset, $"'% format {parts[0]}' is not supported; expected EVT2 or EVT3"),
                    };
                    foreach (var part in parts.Skip(1))
                    {
                        if (part.StartsWith("width=", StringComparison.OrdinalIgnoreCase) && int.TryParse(part[6..], NumberStyles.None, CultureInfo.InvariantCulture, out var w))
                        {
                            width = w;
                        }
                        else if (part.StartsWith("height=", StringComparison.OrdinalIgnoreCase) && int.TryParse(part[7..], NumberStyles.None, CultureInfo.InvariantCulture, out var h))
                        {
                            height = h;
                        }
                    }
                }
                else if (key.Equals("geometry", StringComparison.OrdinalIgnoreCase))
                {
                    var wh = value.Split('x');
                    if (wh.Length == 2 && int.TryParse(wh[0], NumberStyles.None, CultureInfo.InvariantCulture, out var w)
                        && int.TryParse(wh[1], NumberStyles.None, CultureInfo.InvariantCulture, out var h))
                    {
                        width = w;
                        height = h;
                    }
                }
            }

            return new PropheseeHeader(declared, width, height);
        }
    }
}
