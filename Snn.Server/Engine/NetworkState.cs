namespace Snn.Server.Engine;

/// <summary>
/// The live state of some instances of a network, copied between two steps (a snapshot before it is
/// serialized, or after it is read back): per instance, its step, every array the next steps read, and
/// its queued inputs; and the REALTIME clock's position. What the arrays are is fixed by the network's
/// shape (<see cref="StateLayout"/>).
/// </summary>
internal sealed record NetworkState(StateLayout Layout, ClockPosition? Clock, IReadOnlyList<InstanceState> Instances);

/// <summary>A REALTIME clock's tick and overrun counts.</summary>
internal sealed record ClockPosition(long Ticks, long Overruns);

/// <summary>
/// One instance: <paramref name="Arrays"/> in <see cref="StateLayout"/> order, and the inputs queued for
/// coming steps (absolute step numbers).
/// </summary>
internal sealed record InstanceState(int Index, long Step, float[][] Arrays, IReadOnlyList<(long Step, PendingInput Input)> Queued);

/// <summary>
/// What an instance's state consists of, in order: for each population (declaration order) each state
/// variable, then its spikes of the last step (non-delayed projections that lag a step read them); then
/// each delayed projection's delay line. Inputs and recurrent inputs are not state: every step clears
/// them before it fills them.
/// </summary>
internal sealed record StateLayout(int Populations, IReadOnlyList<int> ArrayLengths)
{
    public static StateLayout Of(Network network)
    {
        var lengths = new List<int>();
        foreach (var pop in network.Populations)
        {
            for (int v = 0; v <= pop.State.Length; v++)
            {
                lengths.Add(pop.Size);
            }
        }

        foreach (var projection in network.Delayed)
        {
            lengths.Add(checked((int)projection.DelayLineValues));
        }

        return new StateLayout(network.Populations.Length, lengths);
    }

    /// <summary>Why a state of this layout does not fit <paramref name="other"/>, or null when it does.</summary>
    public string? Mismatch(StateLayout other)
    {
        if (Populations != other.Populations || ArrayLengths.Count != other.ArrayLengths.Count)
        {
            return $"it holds {ArrayLengths.Count} arrays over {Populations} populations; the network has {other.ArrayLengths.Count} over {other.Populations}";
        }

        for (int a = 0; a < ArrayLengths.Count; a++)
        {
            if (ArrayLengths[a] != other.ArrayLengths[a])
            {
                return $"its array {a} has {ArrayLengths[a]} values; the network's has {other.ArrayLengths[a]}";
            }
        }

        return null;
    }
}
