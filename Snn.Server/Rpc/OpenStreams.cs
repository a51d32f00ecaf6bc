namespace Snn.Server.Rpc;

/// <summary>
/// Counts the streaming calls in progress, so that a stopping server can let the ones the step loop just
/// ended send their final status before Kestrel closes the connections (see <see cref="DrainAsync"/>).
/// </summary>
internal sealed class OpenStreams
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Enter() => Interlocked.Increment(ref _count);

    public void Exit() => Interlocked.Decrement(ref _count);

    /// <summary>
    /// Waits until no streaming call is in progress (at most <paramref name="limit"/>), then, if there
    /// were any, half a second more: Kestrel closes each connection once its streams are done, and a
    /// close with unread bytes in the socket (a duplex client still sending) resets the TCP connection,
    /// which can discard the final status before a busy client has read it.
    /// </summary>
    public async Task DrainAsync(TimeSpan limit)
    {
        if (Count == 0)
        {
            return;
        }

        var until = DateTime.UtcNow + limit;
        while (Count > 0 && DateTime.UtcNow < until)
        {
            await Task.Delay(10);
        }

        await Task.Delay(500);
    }
}
