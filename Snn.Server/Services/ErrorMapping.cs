using Snn.Grpc;
using Snn.Server.Engine;

namespace Snn.Server.Services;

/// <summary>The one place where engine refusals become gRPC statuses.</summary>
internal static class ErrorMapping
{
    public static RpcException ToRpc(EngineException e) => new(new Status(e.Error switch
    {
        EngineError.InvalidArgument => StatusCode.InvalidArgument,
        EngineError.NotFound => StatusCode.NotFound,
        EngineError.AlreadyExists => StatusCode.AlreadyExists,
        EngineError.FailedPrecondition => StatusCode.FailedPrecondition,
        EngineError.ResourceExhausted => StatusCode.ResourceExhausted,
        _ => StatusCode.Aborted,
    }, e.Message));

    /// <summary>Runs a handler body, turning <see cref="EngineException"/> into its status.</summary>
    public static async Task<T> Guard<T>(Func<Task<T>> body)
    {
        try
        {
            return await body();
        }
        catch (EngineException e)
        {
            throw ToRpc(e);
        }
    }
}
