namespace Snn.Client.Events;

/// <summary>
/// A recording that is truncated or does not follow its format. <see cref="Offset"/> is the byte offset
/// in the stream (from its start, header included) of the word or record that is wrong, and the message
/// says what was expected there.
/// </summary>
public sealed class EventFormatException : Exception
{
    public EventFormatException()
    {
    }

    public EventFormatException(string message)
        : base(message)
    {
    }

    public EventFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public EventFormatException(EventFileFormat format, long offset, string what)
        : base($"{EventFileFormats.DisplayName(format)} at byte offset {offset}: {what}")
    {
        Format = format;
        Offset = offset;
    }

    /// <summary>The format being decoded (<see cref="EventFileFormat.Auto"/> while it is being recognised).</summary>
    public EventFileFormat Format { get; }

    /// <summary>Byte offset from the start of the stream.</summary>
    public long Offset { get; }
}
