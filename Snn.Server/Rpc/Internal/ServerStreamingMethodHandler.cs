using Google.Protobuf;

namespace Snn.Server.Rpc.Internal;

internal sealed class ServerStreamingMethodHandler<TRequest, TResponse>(
    string serviceName,
    string methodName,
    MessageParser<TRequest> parser,
    Func<TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler) : GrpcMethodHandler(serviceName, methodName)
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    public override async Task InvokeAsync(HttpServerCallContext call)
    {
        var request = await call.ReadSingleMessageAsync(parser).ConfigureAwait(false);
        var writer = new HttpResponseStreamWriter<TResponse>(call);
        await RunStreamingAsync(call, handler(request, writer, call)).ConfigureAwait(false);
    }
}
