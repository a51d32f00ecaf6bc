namespace Snn.Server.Engine;

/// <summary>
/// External input for one population at one step of one instance: spike events (indices with
/// optional values) or a dense current. Validated before it reaches the loop. Linked into the
/// instance's input ring by <see cref="Next"/>.
/// </summary>
internal sealed class PendingInput(int population, int offset, int[]? indices, float[]? values, float[]? current,
    long? step = null)
{
    public int Population { get; } = population;

    /// <summary>Steps after the instance's next step when the request is taken.</summary>
    public int Offset { get; } = offset;

    /// <summary>Absolute step, instead of <see cref="Offset"/>.</summary>
    public long? Step { get; } = step;

    public int[]? Indices { get; } = indices;

    /// <summary>Value per event; null = 1 for each.</summary>
    public float[]? Values { get; } = values;

    public float[]? Current { get; } = current;

    public PendingInput? Next { get; set; }
}

/// <summary>A driver's request: inputs to queue, then steps to execute.</summary>
internal sealed class RunCommand(PendingInput[] inputs, int advance)
{
    public PendingInput[] Inputs { get; } = inputs;

    public int Advance { get; } = advance;
}
