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

    /// <summary>How long a stopping server keeps the connections open after its streams ended, for clients to read their status.</summary>
    public static readonly TimeSpan ReadGrace = TimeSpan.FromSeconds(1.5);

    /// <summary>
    /// Waits until no streaming call is in progress (at most <paramref name="limit"/>), then, if there
    /// were any, <see cref="ReadGrace"/> more: Kestrel closes each connection once its streams are done,
    /// and a close with unread bytes in the socket (a duplex client still sending) resets the TCP
    /// connection, which on Linux discards what the client has received and not yet read, the final
    /// status included. Half a second was too short for a client on a loaded 2-core machine (a
    /// functional test saw its Run stream end INTERNAL once in a full parallel test run).
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

        await Task.Delay(ReadGrace);
    }
}
