using Google.Protobuf;

namespace Snn.Server.Rpc.Internal;

internal sealed class DuplexStreamingMethodHandler<TRequest, TResponse>(
    string serviceName,
    string methodName,
    MessageParser<TRequest> parser,
    Func<IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler) : GrpcMethodHandler(serviceName, methodName)
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    public override Task InvokeAsync(HttpServerCallContext call)
    {
        var reader = new HttpRequestStreamReader<TRequest>(call, parser);
        var writer = new HttpResponseStreamWriter<TResponse>(call);
        return RunStreamingAsync(call, handler(reader, writer, call));
    }
}
