using System.Diagnostics;
using System.Runtime.InteropServices;
using Snn.Server.Backends;

namespace Snn.Server.Engine;

/// <summary>
/// One step of due instances: intake of the queued external inputs, the backend step, and emission
/// of each instance's frame to its driver and watchers.
/// </summary>
internal sealed partial class StepLoop
{
    /// <summary>Steps of a chain the backend is given at a time (see <see cref="StepInstances"/>).</summary>
    internal const int ChainPart = 16;

    /// <summary>
    /// Steps the due instances <paramref name="steps"/> times (a chain: each step's external inputs
    /// added and the step queued on the backend) and hands out each step's outputs. A chain records
    /// state only at its last step (see <see cref="ChainLength"/>). A device backend gets the chain in
    /// parts of <see cref="ChainPart"/> steps: it runs one while the loop prepares the next, and the
    /// loop hands out a part's outputs as soon as that part is done, while the device runs the rest.
    /// </summary>
    private void StepInstances(Network network, ReadOnlySpan<int> due, int steps = 1)
    {
        long started = Stopwatch.GetTimestamp();
        long events = 0;
        var instances = network.Instances;
        bool cleared = _backend.KeepsHostInputsZero(network);
        _backend.ReadSpikes(network, SpikesRead(network, due));
        for (int s = 0; s < steps; s++)
        {
            foreach (int i in due)
            {
                events += PrepareInputs(network, instances[i], cleared);
            }

            _backend.Enqueue(network, due, s);
            foreach (int i in due)
            {
                instances[i].Step++;
            }

            if ((s + 1) % ChainPart == 0 || s == steps - 1)
            {
                _backend.Send(network);
            }
        }

        foreach (int i in due)
        {
            instances[i].Step -= steps;
        }

        long spikes = 0;
        for (int s = 0; s < steps; s++)
        {
            // A part's outputs once that part is done; where the backend cannot tell, once the whole chain is.
            if (s % ChainPart == 0)
            {
                long waiting = Stopwatch.GetTimestamp();
                if (!_backend.WaitFor(network, Math.Min(steps, s + ChainPart)))
                {
                    _backend.Complete(network);
                }

                Interlocked.Add(ref _waitingTicks, Stopwatch.GetTimestamp() - waiting);
            }

            if (s == steps - 1)
            {
                RefreshRecorded(network, due);
            }

            foreach (int i in due)
            {
                var inst = instances[i];
                if (inst.Driver is { Ended: false } driver)
                {
                    spikes += Deliver(network, inst, driver, s);
                }

                var watchers = inst.Watchers;
                for (int w = watchers.Count - 1; w >= 0; w--)
                {
                    long sent = Deliver(network, inst, watchers[w], s);
                    if (sent < 0)
                    {
                        watchers.RemoveAt(w);
                        inst.SetWatcherCount();
                    }
                    else
                    {
                        spikes += sent;
                    }
                }

                inst.Step++;
            }
        }

        _backend.Complete(network); // all parts were waited for: this ends the chain

        // No tags: an update allocates nothing, whether a listener collects it or not.
        long elapsed = Stopwatch.GetTimestamp() - started;
        Interlocked.Add(ref _steppingTicks, elapsed);
        double perStep = (double)elapsed / Stopwatch.Frequency / steps;
        network.StepSeconds = perStep;
        for (int s = 0; s < steps; s++)
        {
            Metrics.StepDuration.Record(perStep);
        }

        if (events > 0)
        {
            Metrics.EventsIn.Add(events);
        }

        if (spikes > 0)
        {
            Metrics.SpikesOut.Add(spikes);
        }
    }

    /// <summary>The populations whose spikes the due instances' sinks read (their plans' spike populations): what a device backend copies to the host.</summary>
    private static bool[] SpikesRead(Network network, ReadOnlySpan<int> due)
    {
        var read = network.SpikesRead;
        Array.Clear(read);
        foreach (int i in due)
        {
            var inst = network.Instances[i];
            if (inst.Driver is { Ended: false } driver)
            {
                foreach (int p in driver.Plan.SpikePopulations)
                {
                    read[p] = true;
                }
            }

            foreach (var watcher in inst.Watchers)
            {
                foreach (int p in watcher.Plan.SpikePopulations)
                {
                    read[p] = true;
                }
            }
        }

        return read;
    }

    /// <summary>The state variables the due instances' sinks record at this step (a device backend copies back those alone).</summary>
    private void RefreshRecorded(Network network, ReadOnlySpan<int> due)
    {
        var slices = _recordedSlices;
        slices.Clear();
        foreach (int i in due)
        {
            var inst = network.Instances[i];
            if (inst.Driver is { Ended: false } driver)
            {
                AddRecorded(slices, driver.Plan, inst);
            }

            foreach (var watcher in inst.Watchers)
            {
                AddRecorded(slices, watcher.Plan, inst);
            }
        }

        if (slices.Count > 0)
        {
            _backend.RefreshStates(network, CollectionsMarshal.AsSpan(slices));
        }
    }

    private static void AddRecorded(List<StateSlice> slices, OutputPlan plan, Instance inst)
    {
        foreach (var rec in plan.Records)
        {
            if (!rec.IsDue(inst.Step))
            {
                continue;
            }

            var (start, count) = rec.Span;
            foreach (int v in rec.Variables)
            {
                var slice = new StateSlice(rec.Population, v, inst.Index, start, count);
                if (count > 0 && !slices.Contains(slice))
                {
                    slices.Add(slice);
                }
            }
        }
    }

    private static bool RecordsDue(OutputPlan plan, long step)
    {
        foreach (var rec in plan.Records)
        {
            if (rec.IsDue(step))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Emits this step's frame to one sink, applying its policy when it is full: lossy sinks drop
    /// their oldest frame, others are cut off. Returns the spikes sent, or -1 when the sink was cut off.
    /// </summary>
    private long Deliver(Network network, Instance inst, FrameSink sink, int slot)
    {
        if (!sink.HasRoom)
        {
            if (!sink.Lossy)
            {
                sink.End(new EngineException(EngineError.ResourceExhausted,
                    $"this watcher fell {sink.Capacity} steps behind instance {inst.Index} of network '{network.Name}' and was cut off; read faster, or watch with lossy delivery"));
                Metrics.CutOffWatchers.Add(1);
                return -1;
            }

            if (sink.DropOldest())
            {
                Metrics.DroppedFrames.Add(1);
            }
        }

        return EmitFrame(network, inst, sink, slot);
    }

    /// <summary>
    /// Clears the instance's input buffers and adds the external inputs queued for this step; returns
    /// the events added. Where the backend keeps the input rows zero (<paramref name="cleared"/>) only
    /// the rows of input and passthrough populations are cleared: their input row is also their spike
    /// row, which the backend may have filled for the host to read.
    /// </summary>
    private static long PrepareInputs(Network network, Instance inst, bool cleared)
    {
        foreach (var p in network.Populations)
        {
            if (cleared && !p.SpikesAreInput)
            {
                continue;
            }

            p.Slice(p.Input, inst.Index).Clear();
            p.InputMarksIfAny?.Clear(inst.Index);
            if (p.RecurrentInput.Length > 0)
            {
                p.Slice(p.RecurrentInput, inst.Index).Clear();
            }
        }

        var head = inst.TakeCurrentInputs();
        if (head is null)
        {
            return 0;
        }

        // Dense currents first, then events, each in arrival order.
        for (var input = head; input is not null; input = input.Next)
        {
            if (input.Current is { } current)
            {
                var pop = network.Populations[input.Population];
                DenseProjection.Add(current, pop.Slice(pop.Input, inst.Index));
                pop.MarkExternalInput(inst.Index);
            }
        }

        long events = 0;
        for (var input = head; input is not null; input = input.Next)
        {
            if (input.Indices is { } indices)
            {
                var pop = network.Populations[input.Population];
                var marks = pop.InputMarks;
                var x = pop.Slice(pop.Input, inst.Index);
                var values = input.Values;
                for (int k = 0; k < indices.Length; k++)
                {
                    x[indices[k]] += values is null ? 1f : values[k];
                    marks.MarkEvent(inst.Index, indices[k]);
                }

                events += indices.Length;
            }
        }

        return events;
    }

    /// <summary>
    /// Fills and sends one step's frame (chain step <paramref name="slot"/>) to one sink; returns the
    /// spikes it carries. Spikes come from the backend's lists where it keeps them, else from a scan of
    /// the population's host spike array.
    /// </summary>
    private long EmitFrame(Network network, Instance inst, FrameSink sink, int slot)
    {
        long spikesSent = 0;
        var plan = sink.Plan;
        var frame = sink.Rent();
        frame.Step = inst.Step;
        // A LOCKSTEP driver's advance goes on after this step: its Remaining still counts the whole chain
        // (StepLockstep takes the chain's steps off after), of which this is step slot.
        frame.AdvanceGoesOn = network.Clock is null && sink is RunStream driver && driver.Remaining > slot + 1;
        for (int s = 0; s < plan.SpikePopulations.Length; s++)
        {
            var pop = network.Populations[plan.SpikePopulations[s]];
            int count = _backend.TryGetSpikes(network, pop, inst.Index, slot, out var list)
                ? frame.SetSpikes(s, list.Indices, list.Values, pop.Size)
                : frame.SetSpikes(s, pop.Slice(pop.Spikes, inst.Index));
            spikesSent += count;
        }

        for (int r = 0; r < plan.Records.Length; r++)
        {
            var rec = plan.Records[r];
            bool take = rec.IsDue(inst.Step);
            frame.Recorded[r] = take;
            if (!take)
            {
                continue;
            }

            var pop = network.Populations[rec.Population];
            var dst = frame.RecordValues[r];
            int k = 0;
            int baseIndex = inst.Index * pop.Size;
            foreach (int v in rec.Variables)
            {
                var state = pop.State[v];
                if (rec.Neurons is { } neurons)
                {
                    foreach (int n in neurons)
                    {
                        dst[k++] = state[baseIndex + n];
                    }
                }
                else
                {
                    state.AsSpan(baseIndex + rec.RangeStart, rec.RangeCount).CopyTo(dst.AsSpan(k));
                    k += rec.RangeCount;
                }
            }
        }

        sink.Emit(frame);
        return spikesSent;
    }
}
