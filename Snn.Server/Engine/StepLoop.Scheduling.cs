using System.Numerics;
using System.Diagnostics;

namespace Snn.Server.Engine;

/// <summary>
/// Scheduling: which networks and instances are due in a pass (REALTIME ticks first, then every
/// LOCKSTEP instance whose driver has steps left and room for the output).
/// </summary>
internal sealed partial class StepLoop
{
    /// <summary>
    /// One pass of the loop: runs the queued commands, steps every REALTIME network whose tick is
    /// due (first: they are time-critical), then one step of every due LOCKSTEP instance. Returns
    /// whether anything was done, and the time of the earliest next REALTIME tick.
    /// </summary>
    internal bool RunPass(out long earliestTick)
    {
        bool worked = DrainCommands();
        earliestTick = long.MaxValue;
        int dueRealtime = 0;
        int realtimeNetworks = 0;
        long now = Stopwatch.GetTimestamp();
        foreach (var network in _networks)
        {
            if (network.Clock is { } clock)
            {
                realtimeNetworks++;
                if (now >= clock.Next)
                {
                    if (dueRealtime == _dueRealtime.Length)
                    {
                        Array.Resize(ref _dueRealtime, dueRealtime * 2);
                    }

                    _dueRealtime[dueRealtime++] = network;
                }
                else
                {
                    earliestTick = Math.Min(earliestTick, clock.Next);
                }
            }
        }

        if (realtimeNetworks != _realtimeNetworks)
        {
            _realtimeNetworks = realtimeNetworks;
            UpdateScheduling();
        }

        if (dueRealtime > 0)
        {
            // Networks whose tick has come, one after another on this thread, before any LOCKSTEP work.
            // (Measured on the 2-vCPU machine: stepping them side by side, with the helper pinned to the
            // other CPU and woken just before the tick, split the work 55/45 but made the tail far
            // worse, p99 over 20 ms: a tick then waits for both vCPUs, and a perf sched trace showed
            // the helper taking 17 ms for its half now and then.)
            long tickStarted = Stopwatch.GetTimestamp();
            long instances = 0;
            for (int i = 0; i < dueRealtime; i++)
            {
                var network = _dueRealtime[i];
                try
                {
                    StepRealtime(network, tickStarted, Stopwatch.GetTimestamp());
                }
                catch (Exception e)
                {
                    Fail(network, e);
                }

                instances += network.Instances.Length;
                earliestTick = Math.Min(earliestTick, network.Clock!.Next);
            }

            Interlocked.Add(ref _stepsExecuted, instances);
            Array.Clear(_dueRealtime, 0, dueRealtime);
            worked = true;
        }

        foreach (var network in _networks)
        {
            if (network.Clock is null)
            {
                try
                {
                    worked |= StepLockstep(network);
                }
                catch (Exception e)
                {
                    Fail(network, e);
                }
            }
        }

        return worked;
    }

    /// <summary>REALTIME networks due this pass. Loop thread only.</summary>
    private Network[] _dueRealtime = new Network[16];

    /// <summary>LOCKSTEP: steps every due instance once. Returns whether any was due.</summary>
    private bool StepLockstep(Network network)
    {
        int due = 0;
        var dueList = network.Due;
        foreach (var inst in network.Instances)
        {
            if (IsDue(inst))
            {
                dueList[due++] = inst.Index;
            }
        }

        if (due == 0)
        {
            return false;
        }

        int steps = ChainLength(network, dueList.AsSpan(0, due));
        StepInstances(network, dueList.AsSpan(0, due), steps);
        Interlocked.Add(ref _stepsExecuted, (long)due * steps);
        if (steps > 1)
        {
            Interlocked.Add(ref _chainedSteps, (long)due * steps);
        }
        foreach (int i in dueList.AsSpan(0, due))
        {
            network.Instances[i].Driver!.Remaining -= steps;
        }

        return true;
    }

    /// <summary>Longest a chain of LOCKSTEP steps may hold the loop (REALTIME ticks and commands wait for it): <see cref="Backends.Gpu.EngineOptions.ChainMilliseconds"/>.</summary>
    internal double ChainSeconds { get; init; } = 0.002;

    /// <summary>
    /// How many steps the due LOCKSTEP instances take in one go: as many as every driver has left and
    /// room for, every lossless watcher has room for, end at the first step where a sink records state
    /// (the host state is read once, after the chain), fit in <see cref="ChainSeconds"/> at the network's
    /// last step time (a power of two), and the backend can queue (1 on the CPU backend).
    /// </summary>
    private int ChainLength(Network network, ReadOnlySpan<int> due)
    {
        // The time budget in steps, rounded down to a power of two: chain lengths then repeat from
        // request to request, and a device backend replays a repeated chain as one graph.
        long k = network.StepSeconds > 0 ? (long)BitOperations.RoundUpToPowerOf2((ulong)Math.Max(1, Math.Min(1L << 30, (long)(ChainSeconds / network.StepSeconds))) + 1) / 2 : 1;
        foreach (int i in due)
        {
            var inst = network.Instances[i];
            var driver = inst.Driver!;
            k = Math.Min(k, Math.Min(driver.Remaining, driver.Room));
            foreach (var watcher in inst.Watchers)
            {
                k = Math.Min(k, Math.Max(1, watcher.Room));
            }
        }

        if (k <= 1)
        {
            return 1;
        }

        // What the backend can queue (1 where it steps on the host: then there is nothing to look ahead for).
        int n = _backend.BeginChain(network, (int)k);
        if (n <= 1)
        {
            return 1;
        }

        for (int s = 0; s < n - 1; s++)
        {
            foreach (int i in due)
            {
                var inst = network.Instances[i];
                bool records = RecordsDue(inst.Driver!.Plan, inst.Step + s);
                foreach (var watcher in inst.Watchers)
                {
                    records |= RecordsDue(watcher.Plan, inst.Step + s);
                }

                if (records)
                {
                    return _backend.BeginChain(network, s + 1);
                }
            }
        }

        return n;
    }

    /// <summary>REALTIME: every instance steps at every tick; drivers' requests only bring inputs.</summary>
    private void StepRealtime(Network network, long tickStarted, long started)
    {
        var all = network.Due;
        foreach (var inst in network.Instances)
        {
            all[inst.Index] = inst.Index;
            if (inst.Driver is { Ended: false } driver)
            {
                while (driver.CommandReader.TryRead(out var command))
                {
                    if (ReferenceEquals(command, RunStream.EndOfRequests))
                    {
                        driver.End();
                        break;
                    }

                    foreach (var input in command.Inputs)
                    {
                        Place(inst, input);
                    }
                }
            }
        }

        StepInstances(network, all.AsSpan(0, network.Instances.Length));
        var clock = network.Clock!;
        long due = clock.Next;
        if (clock.Completed(tickStarted, started, Stopwatch.GetTimestamp()))
        {
            Metrics.Overruns.Add(1);
        }

        Metrics.TickLateness.Record(Seconds(tickStarted - due));
        Metrics.StepLateness.Record(Seconds(started - due));
    }

    /// <summary>Stopwatch ticks as seconds (early counts as 0).</summary>
    private static double Seconds(long ticks) => Math.Max(0, ticks) / (double)Stopwatch.Frequency;

    /// <summary>Queues an input on its instance, counting late and too-early ones.</summary>
    private void Place(Instance inst, PendingInput input)
    {
        switch (inst.Place(input))
        {
            case Placement.Late:
                Metrics.LateInputs.Add(1);
                break;
            case Placement.TooEarly:
                Metrics.TooEarlyInputs.Add(1);
                break;
        }
    }

    /// <summary>LOCKSTEP: due while the driver has steps left (taking its next request when idle) and room for the output.</summary>
    private bool IsDue(Instance inst)
    {
        var driver = inst.Driver;
        if (driver is null || driver.Ended)
        {
            return false;
        }

        while (driver.Remaining == 0)
        {
            if (!driver.CommandReader.TryRead(out var command))
            {
                return false;
            }

            if (ReferenceEquals(command, RunStream.EndOfRequests))
            {
                driver.End();
                return false;
            }

            foreach (var input in command.Inputs)
            {
                Place(inst, input);
            }

            driver.Remaining = command.Advance;
        }

        return driver.HasRoom;
    }
}
