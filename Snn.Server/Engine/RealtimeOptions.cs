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
}
