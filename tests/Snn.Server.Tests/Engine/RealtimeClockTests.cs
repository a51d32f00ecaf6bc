using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Snn.Server.Backends.Cpu;
using Snn.Server.Engine;
using Snn.Server.Models;

namespace Snn.Server.Tests.Engine;

public sealed class RealtimeClockTests
{
    private static long Micros(double us) => (long)Math.Round(us * Stopwatch.Frequency / 1e6);

    [Fact]
    public void Histogram_quantiles_are_bucket_upper_edges_and_early_counts_as_zero()
    {
        var h = new LatenessHistogram();
        Assert.Equal(0, h.QuantileMicroseconds(0.5));

        h.Record(-Micros(50)); // early: 0
        for (int i = 0; i < 97; i++)
        {
            h.Record(Micros(25));
        }

        h.Record(Micros(5_000));
        h.Record(Micros(60_000)); // beyond 20 ms: the overflow bucket

        Assert.Equal(30, h.QuantileMicroseconds(0.5));
        Assert.Equal(10, h.QuantileMicroseconds(0.01));
        Assert.Equal(5_010, h.QuantileMicroseconds(0.99));
        Assert.Equal(20_010, h.QuantileMicroseconds(1.0));
        Assert.Equal(60_000, h.MaxMicroseconds, 0);
        Assert.Equal(60_000, h.LastMicroseconds, 0);

        h.Clear();
        Assert.Equal(0, h.QuantileMicroseconds(0.99));
        Assert.Equal(0, h.MaxMicroseconds);
    }

    [Fact]
    public void A_tick_records_tick_and_step_lateness_counts_overruns_and_schedules_the_next()
    {
        var clock = new RealtimeClock(0.001);
        long due = clock.Next;

        // The loop began the tick 20 µs late; this network's step began 150 µs late and took 100 µs.
        clock.Completed(due + Micros(20), due + Micros(150), due + Micros(250));
        Assert.Equal(due + clock.Period, clock.Next);
        Assert.Equal(30, clock.TickLag.QuantileMicroseconds(0.5));
        Assert.Equal(160, clock.StepLag.QuantileMicroseconds(0.5));
        Assert.Equal(0, clock.Overruns);

        // A step longer than the period is an overrun.
        due = clock.Next;
        clock.Completed(due, due, due + clock.Period + 1);
        Assert.Equal(1, clock.Overruns);
        Assert.Equal(2, clock.Ticks);

        clock.Restart();
        Assert.Equal(0, clock.Ticks);
        Assert.Equal(0, clock.Overruns);
        Assert.Equal(0, clock.StepLag.MaxMicroseconds);
        Assert.Equal(0, clock.TickLag.MaxMicroseconds);
        Assert.True(clock.Next > Stopwatch.GetTimestamp() - clock.Period);
    }
}

/// <summary>SCHED_FIFO for the stepping threads while REALTIME networks are hosted.</summary>
public sealed class RealtimeSchedulingTests
{
    private const int Eperm = 1;

    /// <summary>The calling thread's scheduling policy from /proc (field 41 of stat: 0 other, 1 FIFO).</summary>
    private static int CurrentPolicy()
    {
        string stat = File.ReadAllText("/proc/thread-self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[41 - 3], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static T OnFreshThread<T>(Func<T> body)
    {
        T result = default!;
        var t = new Thread(() => result = body());
        t.Start();
        t.Join();
        return result;
    }

    /// <summary>Whether this process may use SCHED_FIFO (root or CAP_SYS_NICE).</summary>
    private static bool Permitted() =>
        OnFreshThread(() =>
        {
            int rc = RealtimeScheduling.SetCurrentThread(1);
            RealtimeScheduling.SetCurrentThread(0);
            Assert.True(rc is 0 or Eperm, $"sched_setscheduler failed with errno {rc}");
            return rc == 0;
        });

    [Fact]
    public void A_thread_goes_to_fifo_and_back_or_is_refused_with_eperm()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var (set, fifo, back, other) = OnFreshThread(() =>
        {
            int rc = RealtimeScheduling.SetCurrentThread(10);
            int policy = CurrentPolicy();
            int rcBack = RealtimeScheduling.SetCurrentThread(0);
            return (rc, policy, rcBack, CurrentPolicy());
        });

        if (set == Eperm)
        {
            Assert.Equal(0, fifo);
            return;
        }

        Assert.Equal(0, set);
        Assert.Equal(1, fifo);
        Assert.Equal(0, back);
        Assert.Equal(0, other);
    }

    [Fact]
    public async Task The_loop_takes_its_priority_while_a_realtime_network_exists_and_drops_it_after()
    {
        if (!OperatingSystem.IsLinux() || !Permitted())
        {
            return; // without the permission the loop keeps ordinary threads (and logs it); nothing to observe
        }

        using var loop = new StepLoop(new CpuBackend(), new EngineLimits(), new RealtimeOptions { Priority = 7 }, NullLogger<StepLoop>.Instance);
        Assert.Equal(0, loop.Priority);
        var definition = new NetworkDefinition("rt",
            [new PopulationDefinition("in", "input", 4, [], new Dictionary<string, ParamValue>())],
            [], 0.001, ClockMode.Realtime, 1, 1.0);
        await loop.CreateAsync(definition);
        await WaitUntil(() => loop.Priority == 7);
        Assert.Equal(1, await loop.InvokeAsync(CurrentPolicy));

        await loop.DeleteAsync("rt");
        await WaitUntil(() => loop.Priority == 0);
        Assert.Equal(0, await loop.InvokeAsync(CurrentPolicy));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "condition not reached within 10 s");
            await Task.Delay(5);
        }
    }
}
