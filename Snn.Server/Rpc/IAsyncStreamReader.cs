namespace Snn.Server.Rpc;

/// <summary>The request stream of a client- or duplex-streaming call.</summary>
/// <typeparam name="T">The request message type.</typeparam>
public interface IAsyncStreamReader<out T>
{
    /// <summary>The message read by the last successful <see cref="MoveNext"/>.</summary>
    T Current { get; }

    /// <summary>
    /// Reads the next message. Returns false when the client has half-closed the stream. Throws
    /// <see cref="OperationCanceledException"/> when the call is cancelled (client reset, deadline)
    /// and <see cref="Snn.Grpc.RpcException"/> for a message that breaks the protocol or the limits.
    /// </summary>
    Task<bool> MoveNext(CancellationToken cancellationToken);
}
