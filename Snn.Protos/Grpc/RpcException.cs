namespace Snn.Grpc;

/// <summary>A call ended with a non-OK status. Thrown by clients; thrown by service handlers to end a call with a status.</summary>
public class RpcException : Exception
{
    /// <summary>Creates an exception for <paramref name="status"/> with no trailers.</summary>
    public RpcException(Status status)
        : this(status, new Metadata(), null)
    {
    }

    /// <summary>Creates an exception for <paramref name="status"/> carrying trailing metadata.</summary>
    public RpcException(Status status, Metadata? trailers)
        : this(status, trailers, null)
    {
    }

    /// <summary>Creates an exception with an explicit exception message.</summary>
    public RpcException(Status status, Metadata? trailers, string? message)
        : base(message ?? status.ToString(), status.DebugException)
    {
        Status = status;
        Trailers = trailers ?? new Metadata();
    }

    /// <summary>The status of the call.</summary>
    public Status Status { get; }

    /// <summary>Shortcut for <c>Status.StatusCode</c>.</summary>
    public StatusCode StatusCode => Status.StatusCode;

    /// <summary>Trailing metadata sent (server) or received (client) with the status.</summary>
    public Metadata Trailers { get; }
}
