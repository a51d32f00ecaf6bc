namespace Snn.Server.Engine;

/// <summary>What a Run stream wants back each step: spikes of some populations, recorded states.</summary>
internal sealed class OutputPlan(int[] spikePopulations, RecordPlan[] records)
{
    /// <summary>Population indices whose spikes are reported, in the client's order.</summary>
    public int[] SpikePopulations { get; } = spikePopulations;

    public RecordPlan[] Records { get; } = records;
}

/// <summary>
/// One record of a Run stream: some state variables of some neurons of one population, every
/// <see cref="Every"/>-th step. Values are laid out variable-major: [variable][neuron].
/// </summary>
internal sealed class RecordPlan(int population, int[] variables, string[] variableNames, int[]? neurons,
    int rangeStart, int rangeCount, int every)
{
    public int Population { get; } = population;

    public int[] Variables { get; } = variables;

    public string[] VariableNames { get; } = variableNames;

    /// <summary>Explicit neuron list, or null for the range [RangeStart, RangeStart+RangeCount).</summary>
    public int[]? Neurons { get; } = neurons;

    public int RangeStart { get; } = rangeStart;

    public int RangeCount { get; } = rangeCount;

    public int NeuronCount => Neurons?.Length ?? RangeCount;

    /// <summary>The neurons it reads as one span (see <see cref="SpanOf"/>).</summary>
    public (int Start, int Count) Span { get; } = SpanOf(neurons, rangeStart, rangeCount);

    /// <summary>Neurons read as one span: from the least to the greatest of a list, or the range where there is no list.</summary>
    public static (int Start, int Count) SpanOf(int[]? neurons, int rangeStart, int rangeCount)
    {
        if (neurons is null)
        {
            return (rangeStart, rangeCount);
        }

        if (neurons.Length == 0)
        {
            return (0, 0);
        }

        int least = neurons.Min();
        return (least, neurons.Max() - least + 1);
    }

    public int Every { get; } = every;

    public bool IsDue(long step) => Every <= 1 || step % Every == 0;
}

/// <summary>
/// The outputs of one executed step for one stream. Pooled per stream: the loop fills it, the
/// stream's writer encodes it and hands it back, so steady-state stepping allocates nothing.
/// </summary>
internal sealed class StepFrame
{
    public StepFrame(Network network, OutputPlan plan)
    {
        int np = plan.SpikePopulations.Length;
        SpikeIndices = new int[np][];
        SpikeValues = new float[np][];
        SpikeCounts = new int[np];
        AllOnes = new bool[np];
        for (int p = 0; p < np; p++)
        {
            // Spikes are sparse: start small and grow to what the population actually emits.
            int initial = Math.Min(network.Populations[plan.SpikePopulations[p]].Size, 64);
            SpikeIndices[p] = new int[initial];
            SpikeValues[p] = new float[initial];
        }

        RecordValues = new float[plan.Records.Length][];
        Recorded = new bool[plan.Records.Length];
        for (int r = 0; r < plan.Records.Length; r++)
        {
            var rec = plan.Records[r];
            RecordValues[r] = new float[rec.Variables.Length * rec.NeuronCount];
        }
    }

    public long Step { get; set; }

    /// <summary>Frames the sink lost just before this one (lossy sinks).</summary>
    public long DroppedBefore { get; set; }

    /// <summary>
    /// A LOCKSTEP driver's frame whose request goes on after it: the loop is stepping toward the next
    /// frame of the same advance (the writer may wait briefly for it, see RunHandler.WriteFramesAsync).
    /// </summary>
    public bool AdvanceGoesOn { get; set; }

    public int[][] SpikeIndices { get; }

    public float[][] SpikeValues { get; }

    /// <summary>Population slot <paramref name="p"/>'s spikes from a dense spike row (every non-zero entry); returns their count.</summary>
    public int SetSpikes(int p, ReadOnlySpan<float> row)
    {
        int count = 0;
        bool allOnes = true;
        var bits = System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(row); // ints compare vectorised, floats one by one
        for (int n = 0; n < row.Length; n++)
        {
            // Vectorised skip to the next entry whose bits are not +0 (spikes are sparse); -0 is then passed over as zero.
            int skip = bits[n..].IndexOfAnyExcept(0);
            if (skip < 0)
            {
                break;
            }

            n += skip;
            float v = row[n];
            if (v != 0f)
            {
                if (count == SpikeIndices[p].Length)
                {
                    Grow(p, count + 1, row.Length);
                }

                SpikeIndices[p][count] = n;
                SpikeValues[p][count] = v;
                allOnes &= v == 1f;
                count++;
            }
        }

        SpikeCounts[p] = count;
        AllOnes[p] = allOnes;
        return count;
    }

    /// <summary>Population slot <paramref name="p"/>'s spikes from a compacted list (ascending indices, non-zero values); returns their count.</summary>
    public int SetSpikes(int p, ReadOnlySpan<int> indices, ReadOnlySpan<float> values, int size)
    {
        int count = indices.Length;
        if (count > SpikeIndices[p].Length)
        {
            Grow(p, count, size);
        }

        indices.CopyTo(SpikeIndices[p]);
        values.CopyTo(SpikeValues[p]);
        SpikeCounts[p] = count;
        AllOnes[p] = !System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(values).ContainsAnyExcept(0x3F800000); // the bits of 1f, vectorised
        return count;
    }

    /// <summary>Grows the spike buffers of population slot <paramref name="p"/> to hold <paramref name="needed"/> (doubling; warm-up only).</summary>
    private void Grow(int p, int needed, int max)
    {
        int n = SpikeIndices[p].Length;
        while (n < needed)
        {
            n = Math.Max(n * 2, 64);
        }

        n = Math.Min(n, max);
        Array.Resize(ref SpikeIndices[p], n);
        Array.Resize(ref SpikeValues[p], n);
    }

    /// <summary>Bytes this frame holds for recorded values.</summary>
    public static long RecordBytes(OutputPlan plan)
    {
        long n = 0;
        foreach (var r in plan.Records)
        {
            n += 4L * r.Variables.Length * r.NeuronCount;
        }

        return n;
    }

    public int[] SpikeCounts { get; }

    /// <summary>Whether every spike value of that population is exactly 1.</summary>
    public bool[] AllOnes { get; }

    public float[][] RecordValues { get; }

    /// <summary>Whether the record was taken at this step (see <see cref="RecordPlan.Every"/>).</summary>
    public bool[] Recorded { get; }
}
