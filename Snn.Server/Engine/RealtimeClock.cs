using System.Diagnostics;

namespace Snn.Server.Engine;

/// <summary>
/// The wall-clock schedule of a REALTIME network: tick k is due at start + k·period. A late tick is
/// still executed (the loop catches up without skipping steps). Two latenesses are kept per tick:
/// the tick's (how late the loop began the tick at which this network stepped: the clock's own
/// quality) and the step's (how late this network's step began, which adds the steps of the
/// networks stepped before it in the same tick). A tick whose step took longer than the period is
/// an overrun. Written by the loop thread only; read by handlers.
/// </summary>
internal sealed class RealtimeClock
{
    private long _ticks;
    private long _overruns;

    /// <summary>
    /// Every clock's ticks fall on one grid counted from this instant: networks with the same (or a
    /// multiple) period tick together, so one wake-up of the loop serves all of them.
    /// </summary>
    private static readonly long s_epoch = Stopwatch.GetTimestamp();

    public RealtimeClock(double periodSeconds)
    {
        // NetworkBuilder bounds the period (Snn:Limits:MaxTickPeriod); a period whose ticks overflowed a
        // long would schedule every tick in the past and tick flat out.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(periodSeconds, EngineLimits.TickPeriodCeiling);
        PeriodSeconds = periodSeconds;
        Period = Math.Max(1, (long)Math.Round(periodSeconds * Stopwatch.Frequency));
        Next = NextGridPoint();
    }

    private long NextGridPoint()
    {
        long now = Stopwatch.GetTimestamp();
        return s_epoch + ((now - s_epoch) / Period + 1) * Period;
    }

    public double PeriodSeconds { get; }

    /// <summary>Period in Stopwatch ticks.</summary>
    public long Period { get; }

    /// <summary>Stopwatch timestamp at which the next tick is due. Loop thread only.</summary>
    public long Next { get; private set; }

    public long Ticks => Volatile.Read(ref _ticks);

    public long Overruns => Volatile.Read(ref _overruns);

    /// <summary>Lateness of this network's step start (tick lateness plus the steps before it in the tick).</summary>
    public LatenessHistogram StepLag { get; } = new();

    /// <summary>Lateness of the loop's start of the ticks at which this network stepped.</summary>
    public LatenessHistogram TickLag { get; } = new();

    /// <summary>
    /// Records a tick the loop began at <paramref name="tickStarted"/>, whose step of this network
    /// ran from <paramref name="started"/> to <paramref name="ended"/>, and schedules the next.
    /// Returns whether the tick was an overrun.
    /// </summary>
    public bool Completed(long tickStarted, long started, long ended)
    {
        TickLag.Record(tickStarted - Next);
        StepLag.Record(started - Next);
        bool overrun = ended - started > Period;
        if (overrun)
        {
            Volatile.Write(ref _overruns, _overruns + 1);
        }

        Volatile.Write(ref _ticks, _ticks + 1);
        Next += Period;
        return overrun;
    }

    /// <summary>
    /// Continues from a snapshot's position: its tick and overrun counts, the next tick at the next grid
    /// point (the wall-clock time in between is not made up).
    /// </summary>
    public void Restore(long ticks, long overruns)
    {
        Restart();
        Volatile.Write(ref _ticks, ticks);
        Volatile.Write(ref _overruns, overruns);
    }

    /// <summary>Starts the schedule afresh at the next grid point, with fresh statistics (when the network joins the loop, and on a reset of all instances).</summary>
    public void Restart()
    {
        Next = NextGridPoint();
        Volatile.Write(ref _ticks, 0);
        Volatile.Write(ref _overruns, 0);
        StepLag.Clear();
        TickLag.Clear();
    }
}
