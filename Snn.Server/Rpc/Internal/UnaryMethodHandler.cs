using Google.Protobuf;
using Snn.Grpc;

namespace Snn.Server.Rpc.Internal;

internal sealed class UnaryMethodHandler<TRequest, TResponse>(
    string serviceName,
    string methodName,
    MessageParser<TRequest> parser,
    Func<TRequest, ServerCallContext, Task<TResponse>> handler) : GrpcMethodHandler(serviceName, methodName)
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    public override async Task InvokeAsync(HttpServerCallContext call)
    {
        var request = await call.ReadSingleMessageAsync(parser).ConfigureAwait(false);
        var response = await handler(request, call).ConfigureAwait(false);
        if (call.Status.StatusCode == StatusCode.OK)
        {
            // No flush: the message goes out with the trailers in one write.
            await call.WriteMessageAsync(response ?? throw new InvalidOperationException("The handler returned a null response."), flush: false, default).ConfigureAwait(false);
        }
    }
}
