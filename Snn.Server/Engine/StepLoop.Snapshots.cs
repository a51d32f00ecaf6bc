using Snn.Server.Backends;
namespace Snn.Server.Engine;

/// <summary>
/// Snapshots of live state: taken and put back on the loop thread between two steps, so they are
/// consistent; the loop only copies arrays (serializing and storing happen off the loop).
/// </summary>
internal sealed partial class StepLoop
{
    /// <summary>Copies the state of one instance (or all, <paramref name="instance"/> null) between two steps.</summary>
    public Task<NetworkState> CaptureAsync(Network network, int? instance, CancellationToken cancellationToken = default)
    {
        return InvokeAsync(() =>
        {
            if (network.Deleted)
            {
                throw EngineException.NotFound($"network '{network.Name}' does not exist");
            }

            _backend.RefreshHost(network);
            var layout = StateLayout.Of(network);
            var instances = new List<InstanceState>();
            foreach (var inst in network.Instances)
            {
                if (instance is null || inst.Index == instance)
                {
                    instances.Add(Capture(network, inst, layout));
                }
            }

            var clock = instance is null && network.Clock is { } c ? new ClockPosition(c.Ticks, c.Overruns) : null;
            return new NetworkState(layout, clock, instances);
        }, cancellationToken);
    }

    /// <summary>
    /// Puts a captured state back between two steps: the instances it covers get its arrays, steps and
    /// queued inputs, and a REALTIME clock its position (when the state covers every instance).
    /// FAILED_PRECONDITION when the state does not fit the network's shape.
    /// </summary>
    public Task RestoreAsync(Network network, NetworkState state, CancellationToken cancellationToken = default)
    {
        if (state.Layout.Mismatch(StateLayout.Of(network)) is { } why)
        {
            throw new EngineException(EngineError.FailedPrecondition, $"the snapshot does not fit network '{network.Name}': {why}");
        }

        foreach (var inst in state.Instances)
        {
            if (inst.Index >= network.Instances.Length)
            {
                throw new EngineException(EngineError.FailedPrecondition,
                    $"the snapshot holds instance {inst.Index}; network '{network.Name}' has {network.Instances.Length} instance(s)");
            }

            foreach (var (_, input) in inst.Queued)
            {
                CheckQueued(network, input);
            }
        }

        return InvokeAsync(() =>
        {
            if (network.Deleted)
            {
                throw EngineException.NotFound($"network '{network.Name}' does not exist");
            }

            _backend.RefreshHost(network);
            foreach (var inst in state.Instances)
            {
                Put(network, inst);
            }

            _backend.HostEdited(network, HostEdit.State);
            foreach (var inst in state.Instances)
            {
                network.Instances[inst.Index].Restore(inst.Step, inst.Queued);
            }

            if (state.Clock is { } position)
            {
                network.Clock?.Restore(position.Ticks, position.Overruns);
            }

            return true;
        }, cancellationToken);
    }

    /// <summary>A queued input read back must fit its population, as the Run handler's checks ensured when it arrived.</summary>
    private static void CheckQueued(Network network, PendingInput input)
    {
        if (input.Population < 0 || input.Population >= network.Populations.Length)
        {
            throw new EngineException(EngineError.FailedPrecondition, $"the snapshot queues input for population {input.Population}; the network has {network.Populations.Length}");
        }

        int size = network.Populations[input.Population].Size;
        bool fits = (input.Current is null || input.Current.Length == size)
            && (input.Indices is null || input.Indices.All(n => (uint)n < (uint)size))
            && (input.Values is null || input.Values.Length == input.Indices?.Length);
        if (!fits)
        {
            throw new EngineException(EngineError.FailedPrecondition,
                $"the snapshot queues input that does not fit population '{network.Populations[input.Population].Name}' ({size} neurons)");
        }
    }

    private static InstanceState Capture(Network network, Instance inst, StateLayout layout)
    {
        var arrays = new float[layout.ArrayLengths.Count][];
        int a = 0;
        foreach (var pop in network.Populations)
        {
            foreach (var variable in pop.State)
            {
                arrays[a++] = pop.Slice(variable, inst.Index).ToArray();
            }

            arrays[a++] = pop.Slice(pop.Spikes, inst.Index).ToArray();
        }

        foreach (var projection in network.Delayed)
        {
            arrays[a++] = DelayLine(projection, inst.Index).ToArray();
        }

        return new InstanceState(inst.Index, inst.Step, arrays, inst.QueuedInputs());
    }

    private static void Put(Network network, InstanceState state)
    {
        int a = 0;
        foreach (var pop in network.Populations)
        {
            foreach (var variable in pop.State)
            {
                state.Arrays[a++].CopyTo(pop.Slice(variable, state.Index));
            }

            state.Arrays[a++].CopyTo(pop.Slice(pop.Spikes, state.Index));
        }

        foreach (var projection in network.Delayed)
        {
            state.Arrays[a++].CopyTo(DelayLine(projection, state.Index));
        }
    }

    private static Span<float> DelayLine(Projection projection, int instance)
    {
        int n = checked((int)projection.DelayLineValues);
        return projection.DelayLine.AsSpan(instance * n, n);
    }
}
