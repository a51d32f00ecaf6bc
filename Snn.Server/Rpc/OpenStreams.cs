namespace Snn.Server.Rpc;

/// <summary>
/// Counts the streaming calls in progress, so that a stopping server can let the ones the step loop just
/// ended send their final status before Kestrel closes the connections (see <see cref="DrainAsync"/>,
/// called by <see cref="GracefulStop"/>).
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
    /// were any when the stop began (<paramref name="open"/>), <see cref="ReadGrace"/> more. Kestrel closes
    /// each connection once its streams are done; .NET's HTTP/2 client drops a response it has received
    /// and not yet read when the connection closes while its request side is still open (a Run stream
    /// the client never half-closed), the final status included, and a close with unread bytes in the
    /// socket resets the TCP connection, which on Linux discards them too. The grace lets clients read
    /// their status first. Half a second was too short for a client on a loaded 2-core machine (a
    /// functional test saw its Run stream end INTERNAL once in a full parallel test run).
    /// <paramref name="cancellationToken"/> (the host's shutdown timeout) cuts the wait short.
    /// </summary>
    public async Task DrainAsync(bool open, TimeSpan limit, CancellationToken cancellationToken)
    {
        if (!open && Count == 0)
        {
            return;
        }

        try
        {
            var until = DateTime.UtcNow + limit;
            while (Count > 0 && DateTime.UtcNow < until)
            {
                await Task.Delay(10, cancellationToken);
            }

            await Task.Delay(ReadGrace, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Snn:ShutdownTimeout is up: Kestrel closes what is left.
        }
    }
}
