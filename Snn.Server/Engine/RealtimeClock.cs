using System.Diagnostics;

namespace Snn.Server.Engine;

/// <summary>
/// The wall-clock schedule of a REALTIME network: tick k is due at start + k·period. A late tick is
/// still executed (the loop catches up without skipping steps); its lateness is the lag, and a tick
/// whose step took longer than the period is an overrun. Written by the loop; read by handlers.
/// </summary>
internal sealed class RealtimeClock
{
    private long _ticks;
    private long _overruns;
    private long _lag;
    private long _maxLag;

    // Lag histogram: 10 µs buckets up to 20 ms, then one overflow bucket. Fixed size: no allocation per tick.
    private const int BucketMicros = 10;
    private readonly long[] _lagBuckets = new long[2001];

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

    public long Ticks => Interlocked.Read(ref _ticks);

    public long Overruns => Interlocked.Read(ref _overruns);

    public double LagMicroseconds => Interlocked.Read(ref _lag) * 1e6 / Stopwatch.Frequency;

    public double MaxLagMicroseconds => Interlocked.Read(ref _maxLag) * 1e6 / Stopwatch.Frequency;

    /// <summary>Records a tick that started at <paramref name="started"/> and ended at <paramref name="ended"/>, and schedules the next.</summary>
    public void Completed(long started, long ended)
    {
        long lag = Math.Max(0, started - Next);
        Interlocked.Exchange(ref _lag, lag);
        if (lag > Interlocked.Read(ref _maxLag))
        {
            Interlocked.Exchange(ref _maxLag, lag);
        }

        long micros = lag * 1_000_000 / Stopwatch.Frequency;
        Interlocked.Increment(ref _lagBuckets[Math.Min(micros / BucketMicros, _lagBuckets.Length - 1)]);

        if (ended - started > Period)
        {
            Interlocked.Increment(ref _overruns);
        }

        Interlocked.Increment(ref _ticks);
        Next += Period;
    }

    /// <summary>
    /// The <paramref name="quantile"/> (0..1) of tick lateness so far, in microseconds, to 10 µs
    /// (the upper edge of its bucket; 20,000 stands for "20 ms or more").
    /// </summary>
    public double LagQuantileMicroseconds(double quantile)
    {
        long total = 0;
        foreach (long c in _lagBuckets)
        {
            total += c;
        }

        if (total == 0)
        {
            return 0;
        }

        long rank = (long)Math.Ceiling(quantile * total);
        long seen = 0;
        for (int b = 0; b < _lagBuckets.Length; b++)
        {
            seen += Interlocked.Read(ref _lagBuckets[b]);
            if (seen >= rank)
            {
                return (b + 1) * BucketMicros;
            }
        }

        return _lagBuckets.Length * BucketMicros;
    }

    /// <summary>Starts the schedule afresh at the next grid point, with fresh statistics (when the network joins the loop, and on a reset of all instances).</summary>
    public void Restart()
    {
        Next = NextGridPoint();
        Interlocked.Exchange(ref _ticks, 0);
        Interlocked.Exchange(ref _overruns, 0);
        Interlocked.Exchange(ref _lag, 0);
        Interlocked.Exchange(ref _maxLag, 0);
        for (int b = 0; b < _lagBuckets.Length; b++)
        {
            Interlocked.Exchange(ref _lagBuckets[b], 0);
        }
    }
}
