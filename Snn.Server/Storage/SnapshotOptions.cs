namespace Snn.Server.Storage;

/// <summary>Automatic snapshots (<c>Snn:Snapshots</c>).</summary>
public sealed class SnapshotOptions
{
    /// <summary>How often every network's state is snapshotted; 00:00:00 (the default) turns periodic snapshots off.</summary>
    public TimeSpan Period { get; set; } = TimeSpan.Zero;

    /// <summary>Whether a graceful stop snapshots every network before the step loop ends.</summary>
    public bool OnShutdown { get; set; } = true;

    public void Validate()
    {
        if (Period < TimeSpan.Zero)
        {
            throw new InvalidOperationException($"Snn:Snapshots:Period is {Period}; it must be 00:00:00 (off) or longer");
        }
    }
}
