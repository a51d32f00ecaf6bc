using Microsoft.Extensions.Logging;
using Snn.Grpc;

namespace Snn.Server.Rpc.Internal;

/// <summary>The transport's log messages. Event ids are stable: 1000-1099.</summary>
internal static partial class GrpcTransportLog
{
    [LoggerMessage(EventId = 1000, EventName = "RpcCompleted", Level = LogLevel.Information,
        Message = "RPC {GrpcMethod} finished with {GrpcStatusCode} in {DurationMs:0.000} ms from {Peer}")]
    public static partial void RpcCompleted(ILogger logger, string grpcMethod, StatusCode grpcStatusCode, double durationMs, string peer);

    [LoggerMessage(EventId = 1001, EventName = "HandlerException", Level = LogLevel.Error,
        Message = "RPC {GrpcMethod} failed with an unhandled exception; the client receives UNKNOWN")]
    public static partial void HandlerException(ILogger logger, string grpcMethod, Exception exception);

    [LoggerMessage(EventId = 1002, EventName = "UnsupportedContentType", Level = LogLevel.Debug,
        Message = "Request to {Path} has content-type '{ContentType}', not application/grpc: answered 415")]
    public static partial void UnsupportedContentType(ILogger logger, string path, string? contentType);

    [LoggerMessage(EventId = 1003, EventName = "InvalidTimeout", Level = LogLevel.Debug,
        Message = "RPC {GrpcMethod} has an invalid grpc-timeout '{Timeout}'; ignored")]
    public static partial void InvalidTimeout(ILogger logger, string grpcMethod, string timeout);

    [LoggerMessage(EventId = 1004, EventName = "DeadlineExceeded", Level = LogLevel.Debug,
        Message = "RPC {GrpcMethod} ended by its deadline while the handler was still running")]
    public static partial void DeadlineExceeded(ILogger logger, string grpcMethod);

    [LoggerMessage(EventId = 1005, EventName = "HandlerFaultedAfterEnd", Level = LogLevel.Debug,
        Message = "RPC {GrpcMethod}: the handler ended with an exception after the call had ended")]
    public static partial void HandlerFaultedAfterEnd(ILogger logger, string grpcMethod, Exception exception);

    [LoggerMessage(EventId = 1006, EventName = "TransportError", Level = LogLevel.Error,
        Message = "RPC {GrpcMethod}: the transport failed to complete the call")]
    public static partial void TransportError(ILogger logger, string grpcMethod, Exception exception);

    [LoggerMessage(EventId = 1007, EventName = "NotHttp2", Level = LogLevel.Debug,
        Message = "gRPC request to {Path} over {Protocol}: HTTP/2 is required, answered 426")]
    public static partial void NotHttp2(ILogger logger, string path, string protocol);
}
