using System.Diagnostics;

namespace Snn.Cli.Bench;

/// <summary>Round-trip times of one run, in Stopwatch ticks, preallocated (no allocation while measuring).</summary>
internal sealed class LatencyRecorder(int capacity)
{
    private readonly long[] _ticks = new long[capacity];
    private int _count;

    public int Count => _count;

    public void Record(long ticks) => _ticks[_count++] = ticks;

    /// <summary>The <paramref name="quantile"/> (0..1, nearest rank) in microseconds.</summary>
    public double PercentileMicros(double quantile)
    {
        if (_count == 0)
        {
            return double.NaN;
        }

        var sorted = _ticks.AsSpan(0, _count);
        sorted.Sort();
        int rank = Math.Clamp((int)Math.Ceiling(quantile * _count), 1, _count);
        return sorted[rank - 1] * 1e6 / Stopwatch.Frequency;
    }

    public double MaxMicros
    {
        get
        {
            if (_count == 0)
            {
                return double.NaN;
            }

            long max = 0;
            foreach (long t in _ticks.AsSpan(0, _count))
            {
                max = Math.Max(max, t);
            }

            return max * 1e6 / Stopwatch.Frequency;
        }
    }
}

internal static class Stat
{
    /// <summary>The median (mean of the middle two for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    public static double Seconds(long startTimestamp, long endTimestamp) => (endTimestamp - startTimestamp) / (double)Stopwatch.Frequency;
}
