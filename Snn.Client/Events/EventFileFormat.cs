namespace Snn.Client.Events;

/// <summary>The event-camera recording formats <see cref="EventReader"/> decodes.</summary>
public enum EventFileFormat
{
    /// <summary>Recognise the format from the file's header (Prophesee <c>%</c> lines, <c>#!AER-DAT2.0</c>, <c>#!AER-DAT3.1</c>). N-MNIST files have no header and must be named.</summary>
    Auto,

    /// <summary>Prophesee EVT 2.0: 32-bit little-endian words (CD_OFF/CD_ON with 6 timestamp bits, EVT_TIME_HIGH with 28).</summary>
    Evt2,

    /// <summary>Prophesee EVT 3.0: 16-bit little-endian words with a decoder state (y, base x, vectors, 24-bit time).</summary>
    Evt3,

    /// <summary>N-MNIST / N-Caltech101 <c>.bin</c>: 5-byte events (x, y, polarity + 23-bit timestamp) with overflow markers.</summary>
    NMnist,

    /// <summary>jAER AEDAT 2.0: <c>#</c> header lines, then big-endian 32-bit address + 32-bit timestamp pairs.</summary>
    Aedat2,

    /// <summary>AEDAT 3.1 (cAER/DV): <c>#</c> header lines up to <c>#!END-HEADER</c>, then 28-byte packet headers and events; polarity packets (type 1) are decoded.</summary>
    Aedat3,
}

/// <summary>Names of the formats for messages.</summary>
public static class EventFileFormats
{
    /// <summary>"EVT 2.0", "EVT 3.0", "N-MNIST", "AEDAT 2.0", "AEDAT 3.1"; "event file" for <see cref="EventFileFormat.Auto"/>.</summary>
    public static string DisplayName(EventFileFormat format) => format switch
    {
        EventFileFormat.Evt2 => "EVT 2.0",
        EventFileFormat.Evt3 => "EVT 3.0",
        EventFileFormat.NMnist => "N-MNIST",
        EventFileFormat.Aedat2 => "AEDAT 2.0",
        EventFileFormat.Aedat3 => "AEDAT 3.1",
        _ => "event file",
    };
}
