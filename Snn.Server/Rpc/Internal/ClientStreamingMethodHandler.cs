using Google.Protobuf;
using Snn.Grpc;

namespace Snn.Server.Rpc.Internal;

internal sealed class ClientStreamingMethodHandler<TRequest, TResponse>(
    string serviceName,
    string methodName,
    MessageParser<TRequest> parser,
    Func<IAsyncStreamReader<TRequest>, ServerCallContext, Task<TResponse>> handler) : GrpcMethodHandler(serviceName, methodName)
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    public override async Task InvokeAsync(HttpServerCallContext call)
    {
        var reader = new HttpRequestStreamReader<TRequest>(call, parser);
        var response = await handler(reader, call).ConfigureAwait(false);
        if (call.Status.StatusCode == StatusCode.OK)
        {
            await call.WriteMessageAsync(response ?? throw new InvalidOperationException("The handler returned a null response."), flush: false, default).ConfigureAwait(false);
        }
    }
}
