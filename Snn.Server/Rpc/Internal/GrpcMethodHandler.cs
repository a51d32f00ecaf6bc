namespace Snn.Server.Rpc.Internal;

/// <summary>One registered method: runs a call of its shape over an <see cref="HttpServerCallContext"/>.</summary>
internal abstract class GrpcMethodHandler
{
    protected GrpcMethodHandler(string serviceName, string methodName)
    {
        ArgumentException.ThrowIfNullOrEmpty(serviceName);
        ArgumentException.ThrowIfNullOrEmpty(methodName);
        if (serviceName.Contains('/', StringComparison.Ordinal) || methodName.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException("Service and method names must not contain '/'.");
        }

        ServiceName = serviceName;
        MethodName = methodName;
        Path = "/" + serviceName + "/" + methodName;
    }

    public string ServiceName { get; }

    public string MethodName { get; }

    /// <summary><c>/service/method</c>.</summary>
    public string Path { get; }

    /// <summary>Reads the request(s), runs the service handler and writes the response(s); the status is written by the caller.</summary>
    public abstract Task InvokeAsync(HttpServerCallContext call);

    /// <summary>
    /// Runs a streaming handler and sends the response headers at its first asynchronous
    /// suspension (if it has not written anything yet), so clients see the call start at once.
    /// </summary>
    protected static async Task RunStreamingAsync(HttpServerCallContext call, Task handlerTask)
    {
        if (!handlerTask.IsCompleted)
        {
            try
            {
                await call.SendHeadersIfNotStartedAsync().ConfigureAwait(false);
            }
            catch (Exception) when (call.CancellationToken.IsCancellationRequested)
            {
                // The client is gone; the handler sees the cancellation itself.
            }
        }

        await handlerTask.ConfigureAwait(false);
    }
}
