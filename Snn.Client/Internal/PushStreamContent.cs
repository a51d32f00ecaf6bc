using System.Net;
using System.Net.Http.Headers;
using Snn.Grpc;

namespace Snn.Client.Internal;

/// <summary>
/// The request body of a client- or duplex-streaming call: hands the HTTP/2 request stream to
/// the call as soon as the handler asks for the body, and holds the body open until the call
/// half-closes. It flushes at once, because SocketsHttpHandler holds the request HEADERS back
/// until the first body write or flush.
/// </summary>
internal sealed class PushStreamContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PushStreamContent()
    {
        Headers.ContentType = new MediaTypeHeaderValue(GrpcProtocol.ContentType);
    }

    /// <summary>Completes with the request stream once the body has started.</summary>
    public Task<Stream> StreamTask => _stream.Task;

    /// <summary>Ends the request body (END_STREAM): the client half-closes.</summary>
    public void Complete() => _completed.TrySetResult();

    /// <summary>Abandons the body (the call is being cancelled).</summary>
    public void Abort()
    {
        _stream.TrySetCanceled();
        _completed.TrySetCanceled();
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        _stream.TrySetResult(stream);
        await _completed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        // The HTTP handler disposes the content when the request ends; a writer still waiting must not hang.
        if (disposing)
        {
            Abort();
        }

        base.Dispose(disposing);
    }
}
