using Snn.Grpc;

namespace Snn.Server.Rpc;

/// <summary>Options of the gRPC transport.</summary>
public sealed class GrpcTransportOptions
{
    /// <summary>
    /// The largest request message accepted, in bytes; a bigger one ends the call with
    /// RESOURCE_EXHAUSTED before it is buffered. Defaults to 4 MiB (4194304).
    /// </summary>
    public int MaxReceiveMessageSize { get; set; } = GrpcFraming.DefaultMaxMessageSize;

    /// <summary>
    /// The largest response message sent, in bytes; writing a bigger one throws
    /// <see cref="RpcException"/> RESOURCE_EXHAUSTED. Defaults to 4 MiB (4194304).
    /// </summary>
    public int MaxSendMessageSize { get; set; } = GrpcFraming.DefaultMaxMessageSize;

    /// <summary>
    /// When true, the status message of an unexpected handler exception includes the exception
    /// type and message. Defaults to false: clients see only a generic message.
    /// </summary>
    public bool EnableDetailedErrors { get; set; }
}
