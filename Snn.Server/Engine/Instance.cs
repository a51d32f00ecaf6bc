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

    public bool Driven => Volatile.Read(ref _driven);

    private bool _driven;

    public void SetDriven(bool driven) => Volatile.Write(ref _driven, driven);

    /// <summary>Queues an input for absolute step <paramref name="step"/> (within the horizon of <see cref="Step"/>).</summary>
    public void Enqueue(PendingInput input, long step)
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
