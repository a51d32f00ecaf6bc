namespace Snn.Server.Rpc;

/// <summary>The response stream of a server- or duplex-streaming call. Only one write may be pending at a time.</summary>
/// <typeparam name="T">The response message type.</typeparam>
public interface IServerStreamWriter<in T>
{
    /// <summary>Writes and flushes one message; completes when the transport has accepted it (HTTP/2 flow control applies).</summary>
    Task WriteAsync(T message);

    /// <summary>Writes and flushes one message; <paramref name="cancellationToken"/> can abandon a write held back by flow control.</summary>
    Task WriteAsync(T message, CancellationToken cancellationToken);
}
