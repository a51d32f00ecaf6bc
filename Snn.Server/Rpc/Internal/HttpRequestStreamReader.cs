using Google.Protobuf;

namespace Snn.Server.Rpc.Internal;

internal sealed class HttpRequestStreamReader<T>(HttpServerCallContext call, MessageParser<T> parser) : IAsyncStreamReader<T>
    where T : class, IMessage<T>
{
    private T? _current;
    private bool _ended;

    public T Current => _current ?? throw new InvalidOperationException("MoveNext has not returned true.");

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        if (_ended)
        {
            return false;
        }

        _current = await call.ReadMessageAsync(parser, cancellationToken).ConfigureAwait(false);
        _ended = _current is null;
        return !_ended;
    }
}
