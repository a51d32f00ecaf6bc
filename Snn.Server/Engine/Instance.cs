namespace Snn.Server.Engine;

/// <summary>One independent state copy of a network: its step counter, its driver and its queued inputs.</summary>
internal sealed class Instance(int index, int horizon)
{
    private readonly int _horizon = horizon;
    private PendingInput?[]? _heads;
    private PendingInput?[]? _tails;
    private long _step;

    public int Index { get; } = index;

    /// <summary>Steps executed so far = number of the next step. Written by the loop only.</summary>
    public long Step
    {
        get => Volatile.Read(ref _step);
        set => Volatile.Write(ref _step, value);
    }

    /// <summary>The stream driving this instance, if any. Loop thread only.</summary>
    public RunStream? Driver { get; set; }

    /// <summary>Open Watch streams. Loop thread only.</summary>
    public List<FrameSink> Watchers { get; } = [];

    private int _watcherCount;

    /// <summary>Number of watchers, readable from any thread.</summary>
    public int WatcherCount => Volatile.Read(ref _watcherCount);

    public void SetWatcherCount() => Volatile.Write(ref _watcherCount, Watchers.Count);

    private long _lateInputs;
    private long _inputsTooEarly;

    /// <summary>Inputs that named a step already past (applied at the next step).</summary>
    public long LateInputs => Interlocked.Read(ref _lateInputs);

    /// <summary>Inputs that named a step beyond the horizon (dropped).</summary>
    public long InputsTooEarly => Interlocked.Read(ref _inputsTooEarly);

    /// <summary>
    /// Queues an input relative to the instance's next step: at its offset, or at its absolute step
    /// (a past step is applied at the next step and counted late; one beyond the horizon is counted
    /// and dropped).
    /// </summary>
    public Placement Place(PendingInput input)
    {
        long next = Step;
        long at = input.Step ?? next + input.Offset;
        var placement = Placement.OnTime;
        if (at < next)
        {
            Interlocked.Increment(ref _lateInputs);
            at = next;
            placement = Placement.Late;
        }
        else if (at - next >= _horizon)
        {
            Interlocked.Increment(ref _inputsTooEarly);
            return Placement.TooEarly;
        }

        Enqueue(input, at);
        return placement;
    }

    public bool Driven => Volatile.Read(ref _driven);

    private bool _driven;

    public void SetDriven(bool driven) => Volatile.Write(ref _driven, driven);

    /// <summary>Queues an input for absolute step <paramref name="step"/> (within the horizon of <see cref="Step"/>).</summary>
    private void Enqueue(PendingInput input, long step)
    {
        _heads ??= new PendingInput?[_horizon];
        _tails ??= new PendingInput?[_horizon];
        int slot = (int)(step % _horizon);
        input.Next = null;
        if (_tails[slot] is { } tail)
        {
            tail.Next = input;
        }
        else
        {
            _heads[slot] = input;
        }

        _tails[slot] = input;
    }

    /// <summary>Takes the inputs queued for the current step (a linked list, in arrival order).</summary>
    public PendingInput? TakeCurrentInputs()
    {
        if (_heads is null)
        {
            return null;
        }

        int slot = (int)(Step % _horizon);
        var head = _heads[slot];
        _heads[slot] = null;
        _tails![slot] = null;
        return head;
    }

    /// <summary>The queued inputs with their absolute steps, in step then arrival order (for a snapshot; allocates).</summary>
    public List<(long Step, PendingInput Input)> QueuedInputs()
    {
        var queued = new List<(long, PendingInput)>();
        if (_heads is null)
        {
            return queued;
        }

        long next = Step;
        for (long at = next; at < next + _horizon; at++)
        {
            for (var input = _heads[(int)(at % _horizon)]; input is not null; input = input.Next)
            {
                queued.Add((at, input));
            }
        }

        return queued;
    }

    /// <summary>
    /// Puts the instance at <paramref name="step"/> with exactly <paramref name="queued"/> as its queued
    /// inputs (absolute steps; any beyond this server's horizon are dropped and counted). Loop thread only.
    /// </summary>
    public void Restore(long step, IEnumerable<(long Step, PendingInput Input)> queued)
    {
        ClearInputs();
        Step = step;
        foreach (var (at, input) in queued)
        {
            if (at < step || at - step >= _horizon)
            {
                Interlocked.Increment(ref _inputsTooEarly);
                continue;
            }

            Enqueue(input, at);
        }
    }

    /// <summary>Drops every queued input.</summary>
    public void ClearInputs()
    {
        if (_heads is not null)
        {
            Array.Clear(_heads);
            Array.Clear(_tails!);
        }
    }
}

/// <summary>What <see cref="Instance.Place"/> did with an input.</summary>
internal enum Placement
{
    /// <summary>Queued at the step it named.</summary>
    OnTime,

    /// <summary>Named a step already past: queued at the next step.</summary>
    Late,

    /// <summary>Named a step beyond the horizon: dropped.</summary>
    TooEarly,
}
