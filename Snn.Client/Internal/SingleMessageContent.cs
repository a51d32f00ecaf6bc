using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Snn.Grpc;

namespace Snn.Client.Internal;

/// <summary>The request body of a unary or server-streaming call: one framed message, then END_STREAM.</summary>
internal sealed class SingleMessageContent<T> : HttpContent
    where T : IMessage<T>
{
    private readonly T _message;
    private readonly int _maxMessageSize;

    public SingleMessageContent(T message, int maxMessageSize)
    {
        _message = message;
        _maxMessageSize = maxMessageSize;
        Headers.ContentType = new MediaTypeHeaderValue(GrpcProtocol.ContentType);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        GrpcFraming.WriteMessageAsync(stream, _message, _maxMessageSize, cancellationToken).AsTask();

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
