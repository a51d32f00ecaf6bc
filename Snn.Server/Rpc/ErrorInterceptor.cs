using Grpc.Core;
using Grpc.AspNetCore.Server;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Options;
using Snn.Server.Engine;
using Snn.Server.Storage;

namespace Snn.Server.Rpc;

/// <summary>
/// The one place where failures become gRPC statuses, for every call shape. Handlers and the engine
/// throw <see cref="EngineException"/> (a refusal that says what to fix) or let a fault escape:
/// <list type="bullet">
/// <item>an <see cref="EngineException"/> becomes its status with its message;</item>
/// <item>a <see cref="Nir.NirFormatException"/> (a NIR file the server cannot read) becomes INVALID_ARGUMENT
/// with its message, which names the node and the field to fix;</item>
/// <item>anything after the server began to stop becomes UNAVAILABLE "server is shutting down";</item>
/// <item>cancellation by the client (or its deadline) is left to grpc-dotnet, which logs it at information level;
/// an <see cref="IOException"/> (the client reset the stream or dropped the connection, which Kestrel may
/// report before it cancels the call), or the stream writer's <see cref="InvalidOperationException"/> for a
/// write after the client went away, becomes CANCELLED, not a fault;</item>
/// <item>any other exception is logged here with its stack and becomes INTERNAL with a message that
/// reveals nothing of the server (no exception text reaches a client), unless the operator turned on
/// <c>Snn:DetailedErrors</c> (grpc-dotnet's EnableDetailedErrors): then the exception's type and
/// message follow.</item>
/// </list>
/// </summary>
internal sealed partial class ErrorInterceptor(IHostApplicationLifetime lifetime, ILogger<ErrorInterceptor> logger,
    IOptions<GrpcServiceOptions> options, OpenStreams? streams = null) : Interceptor
{
    public const string InternalMessage = "internal server error; the server log has the details";

    private const string ClientGoneMessage = "the client reset the call or closed its connection";

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation) =>
        Guard(context, stream: false, () => continuation(request, context));

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation) =>
        Guard(context, stream: true, () => continuation(requestStream, context));

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation) =>
        Guard(context, stream: true, async () =>
        {
            await continuation(request, responseStream, context);
            return true;
        });

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation) =>
        Guard(context, stream: true, async () =>
        {
            await continuation(requestStream, responseStream, context);
            return true;
        });

    /// <summary>The status an engine refusal maps to.</summary>
    public static StatusCode ToStatusCode(EngineError error) => error switch
    {
        EngineError.InvalidArgument => StatusCode.InvalidArgument,
        EngineError.NotFound => StatusCode.NotFound,
        EngineError.AlreadyExists => StatusCode.AlreadyExists,
        EngineError.FailedPrecondition => StatusCode.FailedPrecondition,
        EngineError.ResourceExhausted => StatusCode.ResourceExhausted,
        EngineError.Unavailable => StatusCode.Unavailable,
        EngineError.Internal => StatusCode.Internal,
        _ => StatusCode.Aborted,
    };

    /// <summary>Runs one call (a stream counted in <see cref="OpenStreams"/>) and maps what escapes it.</summary>
    private async Task<T> Guard<T>(ServerCallContext context, bool stream, Func<Task<T>> call)
    {
        RejectWhenStopping();
        if (stream)
        {
            streams?.Enter();
        }

        try
        {
            return await call();
        }
        catch (Exception e) when (Map(e, context) is { } status)
        {
            throw status;
        }
        finally
        {
            if (stream)
            {
                streams?.Exit();
            }
        }
    }

    private void RejectWhenStopping()
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, EngineException.ShuttingDownMessage));
        }
    }

    /// <summary>The status to end the call with, or null to let the exception through unchanged.</summary>
    private RpcException? Map(Exception e, ServerCallContext context)
    {
        switch (e)
        {
            case RpcException:
                return null;
            case EngineException engine:
                // The engine quotes its own (tenant-qualified) names; the caller reads its own.
                return new RpcException(new Status(ToStatusCode(engine.Error), Security.TenantScope.UnqualifyMessage(context, engine.Message)));
            case Nir.NirFormatException nir:
                return new RpcException(new Status(StatusCode.InvalidArgument, nir.Message));
            case StoreCorruptException corrupt:
                LogFault(corrupt, context.Method);
                return new RpcException(new Status(StatusCode.DataLoss, corrupt.Message));
            case OperationCanceledException or IOException when context.CancellationToken.IsCancellationRequested
                && !lifetime.ApplicationStopping.IsCancellationRequested:
                return null;
            case InvalidOperationException when context.CancellationToken.IsCancellationRequested
                && !lifetime.ApplicationStopping.IsCancellationRequested:
                // grpc-dotnet's stream writer refuses a write after the client went away with this
                // ("Can't write the message because the request is complete."): the client's doing, not a fault.
                return new RpcException(new Status(StatusCode.Cancelled, ClientGoneMessage));
            case not null when lifetime.ApplicationStopping.IsCancellationRequested:
                return new RpcException(new Status(StatusCode.Unavailable, EngineException.ShuttingDownMessage));
            case IOException:
                return new RpcException(new Status(StatusCode.Cancelled, ClientGoneMessage));
            default:
                LogFault(e, context.Method);
                return new RpcException(new Status(StatusCode.Internal, options.Value.EnableDetailedErrors == true
                    ? $"{InternalMessage}: {e!.GetType().Name}: {e.Message}"
                    : InternalMessage));
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "{Method} failed")]
    private partial void LogFault(Exception? exception, string method);
}
