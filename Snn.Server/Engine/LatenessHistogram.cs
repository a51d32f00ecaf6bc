using System.Diagnostics;

namespace Snn.Server.Engine;

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
