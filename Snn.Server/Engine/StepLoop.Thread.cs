using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Snn.Server.Engine;

/// <summary>
/// The loop thread: its passes, its waits between them (precise sleeps, a short spin before a REALTIME
/// tick) and its scheduling class (SCHED_FIFO while REALTIME networks are hosted).
/// </summary>
internal sealed partial class StepLoop
{
    private void Run()
    {
        PreciseSleep.TightenTimerSlack();
        while (!_stopping)
        {
            Volatile.Write(ref _lastPass, Stopwatch.GetTimestamp());
            _wake.Reset();
            if (!RunPass(out long earliest))
            {
                WaitForWork(earliest);
            }
        }

        foreach (var network in _networks)
        {
            EndSinks(network, EngineException.ShuttingDown());
        }
    }

    /// <summary>
    /// Sleeps until new work arrives or the next REALTIME tick is due. Long waits block on the wake
    /// event (whole milliseconds), at most <see cref="LongestWait"/> at a time: a longer wait (a tick
    /// period of hours) returns to the loop, which passes and waits again, so the loop still shows it
    /// ticks (health) however long the period. Under two milliseconds the loop sleeps in short precise
    /// slices, checking for new work between them, and spins only the last few tens of microseconds,
    /// so a tick starts within microseconds of its time without burning a core between ticks.
    /// </summary>
    private void WaitForWork(long deadline)
    {
        if (deadline == long.MaxValue)
        {
            _wake.Wait(LongestWait);
            return;
        }

        while (!_wake.IsSet)
        {
            long remaining = deadline - Stopwatch.GetTimestamp();
            // Leave room for a sleep to overrun (tens of microseconds) before the spin window starts.
            long sliceTicks = Math.Min(remaining - SpinWindow - SleepOverrun, SleepSlice);
            if (sliceTicks <= 0)
            {
                while (Stopwatch.GetTimestamp() < deadline && !_wake.IsSet)
                {
                    Thread.SpinWait(8);
                }

                return;
            }

            if (remaining > 2 * Stopwatch.Frequency / 1000)
            {
                _wake.Wait(LongWaitMilliseconds(remaining));
                return;
            }

            PreciseSleep.Sleep(sliceTicks * 1_000_000_000 / Stopwatch.Frequency);
        }
    }

    /// <summary>Longest single wait of the loop: 250 ms (an idle loop passes at least this often).</summary>
    internal static readonly TimeSpan LongestWait = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Whole milliseconds to block on the wake event when a tick is <paramref name="remaining"/> Stopwatch
    /// ticks away: wake one millisecond early (the rest is slept precisely), and never longer than
    /// <see cref="LongestWait"/>. Clamped before converting, so no period can overflow the int.
    /// </summary>
    internal static int LongWaitMilliseconds(long remaining)
    {
        long ticks = Math.Clamp(remaining - Stopwatch.Frequency / 1000, 0, LongestWait.Ticks * Stopwatch.Frequency / TimeSpan.TicksPerSecond);
        return (int)(ticks * 1000 / Stopwatch.Frequency);
    }

    /// <summary>The last stretch before a tick that the loop spins: 100 µs.</summary>
    private static readonly long SpinWindow = Stopwatch.Frequency * 100 / 1_000_000;

    /// <summary>How much a sleep may overrun (p99 measured with 1 ns timer slack: about 60 µs).</summary>
    private static readonly long SleepOverrun = Stopwatch.Frequency * 60 / 1_000_000;

    /// <summary>Longest precise sleep between checks for new work: 200 µs.</summary>
    private static readonly long SleepSlice = Stopwatch.Frequency * 200 / 1_000_000;

    /// <summary>
    /// Realtime scheduling for the stepping threads while REALTIME networks are hosted, ordinary
    /// scheduling otherwise. Only on the loop's own thread (a test that calls RunPass keeps its thread as it is).
    /// </summary>
    private void UpdateScheduling()
    {
        int wanted = _realtimeNetworks > 0 ? _realtime.Priority : 0;
        if (wanted == _priority || Thread.CurrentThread != _thread || _priorityRefused)
        {
            return;
        }

        int errno = RealtimeScheduling.SetCurrentThread(wanted);
        if (errno != 0)
        {
            _priorityRefused = true;
            LogPriorityRefused(wanted, RealtimeScheduling.Describe(errno));
            return;
        }

        Volatile.Write(ref _priority, wanted);
        _backend.SetRealtimePriority(wanted);
    }

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning,
        Message = "REALTIME networks run on ordinary threads: SCHED_FIFO priority {Priority} was refused ({Reason}); ticks may be late under load. Set Snn:Realtime:Priority to 0 to not ask")]
    private partial void LogPriorityRefused(int priority, string reason);
}
