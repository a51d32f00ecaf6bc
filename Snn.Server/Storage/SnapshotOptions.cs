namespace Snn.Server.Storage;

/// <summary>Automatic snapshots (<c>Snn:Snapshots</c>).</summary>
public sealed class SnapshotOptions
{
    /// <summary>How often every network's state is snapshotted; 00:00:00 (the default) turns periodic snapshots off.</summary>
    public TimeSpan Period { get; set; } = TimeSpan.Zero;

    /// <summary>Whether a graceful stop snapshots every network before the step loop ends.</summary>
    public bool OnShutdown { get; set; } = true;

    /// <summary>How snapshot payloads are stored: <c>lz4</c> (LZ4, fast level) or <c>none</c>.</summary>
    public string Compression { get; set; } = SnapshotCodec.Lz4;

    public void Validate()
    {
        if (!SnapshotCodec.IsKnown(Compression))
        {
            throw new InvalidOperationException($"Snn:Snapshots:Compression is '{Compression}'; it must be {SnapshotCodec.Lz4} or {SnapshotCodec.None}");
        }

        if (Period < TimeSpan.Zero)
        {
            throw new InvalidOperationException($"Snn:Snapshots:Period is {Period}; it must be 00:00:00 (off) or longer");
        }
    }
}
