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
    /// </summary>
    public void Completed(long tickStarted, long started, long ended)
    {
        TickLag.Record(tickStarted - Next);
        StepLag.Record(started - Next);
        if (ended - started > Period)
        {
            Volatile.Write(ref _overruns, _overruns + 1);
        }

        Volatile.Write(ref _ticks, _ticks + 1);
        Next += Period;
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

/// <summary>
/// Lateness values in 10 µs buckets up to 20 ms (then one overflow bucket), with the last and the
/// largest. Fixed size: recording allocates nothing. One writer (the loop); readers on any thread
/// see each field whole, and a quantile read while the loop records is off by at most that tick.
/// </summary>
internal sealed class LatenessHistogram
{
    private const int BucketMicros = 10;
    private readonly long[] _buckets = new long[2001];
    private long _last;
    private long _max;

    /// <summary>Records a lateness in Stopwatch ticks (early counts as 0).</summary>
    public void Record(long lateness)
    {
        lateness = Math.Max(0, lateness);
        Volatile.Write(ref _last, lateness);
        if (lateness > _max)
        {
            Volatile.Write(ref _max, lateness);
        }

        long micros = lateness * 1_000_000 / Stopwatch.Frequency;
        ref long bucket = ref _buckets[Math.Min(micros / BucketMicros, _buckets.Length - 1)];
        Volatile.Write(ref bucket, bucket + 1);
    }

    public double LastMicroseconds => Volatile.Read(ref _last) * 1e6 / Stopwatch.Frequency;

    public double MaxMicroseconds => Volatile.Read(ref _max) * 1e6 / Stopwatch.Frequency;

    /// <summary>
    /// The <paramref name="quantile"/> (0..1) of the recorded values, in microseconds, to 10 µs (the
    /// upper edge of its bucket; 20,010 stands for "over 20 ms"). 0 when nothing was recorded.
    /// </summary>
    public double QuantileMicroseconds(double quantile)
    {
        long total = 0;
        for (int b = 0; b < _buckets.Length; b++)
        {
            total += Volatile.Read(ref _buckets[b]);
        }

        if (total == 0)
        {
            return 0;
        }

        long rank = Math.Max(1, (long)Math.Ceiling(quantile * total));
        long seen = 0;
        for (int b = 0; b < _buckets.Length; b++)
        {
            seen += Volatile.Read(ref _buckets[b]);
            if (seen >= rank)
            {
                return (b + 1) * BucketMicros;
            }
        }

        return _buckets.Length * BucketMicros;
    }

    public void Clear()
    {
        Volatile.Write(ref _last, 0);
        Volatile.Write(ref _max, 0);
        for (int b = 0; b < _buckets.Length; b++)
        {
            Volatile.Write(ref _buckets[b], 0);
        }
    }
}
