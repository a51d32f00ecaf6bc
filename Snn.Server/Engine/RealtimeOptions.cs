namespace Snn.Server.Engine;

/// <summary>How REALTIME networks are scheduled. Bound from configuration section <c>Snn:Realtime</c>.</summary>
public sealed class RealtimeOptions
{
    /// <summary>
    /// SCHED_FIFO priority (1..99) of the stepping threads while REALTIME networks are hosted; 0 leaves
    /// them ordinary threads. Defaults to 10. Needs root or CAP_SYS_NICE (without, the server logs a
    /// warning once and goes on with ordinary threads).
    /// </summary>
    public int Priority { get; set; } = 10;

    /// <summary>Throws when a setting is out of range, naming it and what it accepts.</summary>
    public void Validate()
    {
        if (Priority is < 0 or > 99)
        {
            throw new InvalidOperationException($"Snn:Realtime:Priority is {Priority}; use 1..99 (SCHED_FIFO priority) or 0 for ordinary threads");
        }
    }
}
