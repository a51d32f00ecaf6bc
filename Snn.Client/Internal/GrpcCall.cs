using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Snn.Grpc;

namespace Snn.Client.Internal;

/// <summary>
/// One client call of any shape over one HTTP/2 request. The request starts when the call is
/// created; responses are read with <see cref="MoveNextAsync"/>, which reads the body to its end
/// before it looks at the trailers, and takes the status from the headers for a trailers-only
/// response. Every failure surfaces as <see cref="RpcException"/>.
/// </summary>
internal sealed class GrpcCall<TRequest, TResponse> : IDisposable
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private readonly GrpcConnection _connection;
    private readonly MessageParser<TResponse> _parser;
    private readonly CancellationTokenSource _callSource;
    private readonly CancellationTokenSource? _deadlineSource;
    private readonly CancellationToken _userToken;
    private readonly CancellationTokenRegistration _cancelRegistration;
    private readonly PushStreamContent? _requestContent;
    private readonly Task<HttpResponseMessage> _responseTask;
    private readonly Lock _lock = new();
    private Task<HttpResponseMessage>? _processedResponse;
    private HttpResponseMessage? _response;
    private PipeReader? _responseReader;
    private Metadata? _responseHeaders;
    private Metadata? _trailers;
    private Status? _status;
    private TResponse? _current;
    private bool _requestCompleted;
    private int _writePending;
    private bool _disposed;

    public GrpcCall(GrpcConnection connection, string path, MessageParser<TResponse> parser, HttpContent? content, CallOptions options)
    {
        _connection = connection;
        _parser = parser;
        _userToken = options.CancellationToken;
        TimeSpan? timeout = null;
        if (options.Deadline is { } deadline)
        {
            var remaining = deadline.ToUniversalTime() - DateTime.UtcNow;
            timeout = remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
            _deadlineSource = new CancellationTokenSource();
        }

        _callSource = _deadlineSource is null
            ? CancellationTokenSource.CreateLinkedTokenSource(_userToken)
            : CancellationTokenSource.CreateLinkedTokenSource(_userToken, _deadlineSource.Token);
        _requestContent = content is null ? new PushStreamContent() : null;

        if (timeout == TimeSpan.Zero)
        {
            // Already past the deadline: fail without sending anything.
            content?.Dispose();
            _deadlineSource!.Cancel();
            _status = new Status(StatusCode.DeadlineExceeded, "Deadline exceeded before the call started.");
            _responseTask = Task.FromException<HttpResponseMessage>(new RpcException(_status.Value));
            _responseTask.Exception?.Handle(static _ => true);
            return;
        }

        var request = connection.CreateRequest(path, content ?? _requestContent!, options.Headers, timeout);
        _cancelRegistration = _callSource.Token.UnsafeRegister(static state => ((GrpcCall<TRequest, TResponse>)state!).OnCancelled(), this);
        _responseTask = connection.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _callSource.Token);
        if (timeout is { } t && t < TimeSpan.FromMilliseconds(uint.MaxValue - 1))
        {
            _deadlineSource!.CancelAfter(t);
        }
    }

    /// <summary>The message read by the last successful <see cref="MoveNextAsync"/>.</summary>
    public TResponse Current => _current ?? throw new InvalidOperationException("MoveNextAsync has not returned true.");

    /// <summary>The final status, once the call has ended.</summary>
    public Status? FinalStatus => _status;

    /// <summary>The trailers, once the call has ended.</summary>
    public Metadata Trailers => _trailers ?? [];

    /// <summary>Waits for the response headers (initial metadata).</summary>
    public async Task<Metadata> ResponseHeadersAsync()
    {
        var response = await GetResponseAsync().ConfigureAwait(false);
        return _responseHeaders ??= ReadMetadata(response.Headers);
    }

    /// <summary>Reads the next response; false at the end of a successful call; throws <see cref="RpcException"/> otherwise.</summary>
    public async Task<bool> MoveNextAsync(CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync().ConfigureAwait(false);
        if (_status is { } final)
        {
            return EndOrThrow(final);
        }

        CancellationTokenSource? linked = null;
        var token = _callSource.Token;
        if (cancellationToken.CanBeCanceled)
        {
            linked = CancellationTokenSource.CreateLinkedTokenSource(token, cancellationToken);
            token = linked.Token;
        }

        TResponse? message;
        try
        {
            _responseReader ??= PipeReader.Create(await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false));
            message = await GrpcFraming.ReadMessageAsync(_responseReader, _parser, _connection.MaxReceiveMessageSize, GetEncoding(response), token).ConfigureAwait(false);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw Abandon(new Status(StatusCode.Internal, "Failed to deserialize the response message: " + ex.Message, ex));
        }
        catch (RpcException ex)
        {
            throw Abandon(ex.Status);
        }
        catch (Exception ex)
        {
            throw Fail(ex, cancellationToken);
        }
        finally
        {
            linked?.Dispose();
        }

        if (message is not null)
        {
            _current = message;
            return true;
        }

        // The body has ended: only now are the trailers there.
        var trailers = response.TrailingHeaders;
        var status = ReadStatus(trailers) ?? new Status(StatusCode.Unknown, "The response ended without a grpc-status.");
        SetFinal(status, ReadMetadata(trailers));
        return EndOrThrow(_status!.Value);
    }

    /// <summary>Reads the single response of a unary or client-streaming call, then its status.</summary>
    public async Task<TResponse> ReadSingleResponseAsync()
    {
        if (!await MoveNextAsync().ConfigureAwait(false))
        {
            throw Abandon(new Status(StatusCode.Internal, "The call ended with status OK but without a response message."));
        }

        var message = Current;
        if (await MoveNextAsync().ConfigureAwait(false))
        {
            throw Abandon(new Status(StatusCode.Internal, "More than one response message for a method that returns one."));
        }

        return message;
    }

    /// <summary>Writes one request message and flushes it. One write at a time.</summary>
    public async Task WriteAsync(TRequest message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_requestContent is null)
        {
            throw new InvalidOperationException("This call does not stream requests.");
        }

        if (_requestCompleted)
        {
            throw new InvalidOperationException("The request stream has already been completed.");
        }

        if (Interlocked.Exchange(ref _writePending, 1) == 1)
        {
            throw new InvalidOperationException("Only one write can be pending at a time.");
        }

        CancellationTokenSource? linked = null;
        var token = _callSource.Token;
        if (cancellationToken.CanBeCanceled)
        {
            linked = CancellationTokenSource.CreateLinkedTokenSource(token, cancellationToken);
            token = linked.Token;
        }

        try
        {
            var streamTask = _requestContent.StreamTask;
            if (!streamTask.IsCompleted)
            {
                await Task.WhenAny(streamTask, _responseTask).WaitAsync(token).ConfigureAwait(false);
                if (!streamTask.IsCompleted)
                {
                    await GetResponseAsync().ConfigureAwait(false);
                    if (_status is { } ended)
                    {
                        throw new RpcException(ended.StatusCode == StatusCode.OK ? new Status(StatusCode.Internal, "The call ended before the request was sent.") : ended, Trailers);
                    }
                }
            }

            var stream = await streamTask.WaitAsync(token).ConfigureAwait(false);
            await GrpcFraming.WriteMessageAsync(stream, message, _connection.MaxSendMessageSize, token).ConfigureAwait(false);
            await stream.FlushAsync(token).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            throw;
        }
        catch (Exception ex)
        {
            // A write fails when the server has ended the call; report its status if it is known.
            if (_status is { } ended && ended.StatusCode != StatusCode.OK)
            {
                throw new RpcException(ended, Trailers);
            }

            throw Fail(ex, cancellationToken);
        }
        finally
        {
            linked?.Dispose();
            Volatile.Write(ref _writePending, 0);
        }
    }

    /// <summary>Half-closes the request stream (END_STREAM).</summary>
    public void CompleteRequest()
    {
        if (_requestContent is null)
        {
            throw new InvalidOperationException("This call does not stream requests.");
        }

        _requestCompleted = true;
        _requestContent.Complete();
    }

    /// <summary>Cancels the call if it has not ended (RST_STREAM CANCEL) and releases it.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_status is null)
        {
            SetFinal(new Status(StatusCode.Cancelled, "The call was disposed."), null);
            _callSource.Cancel();
        }

        _cancelRegistration.Dispose();
        _requestContent?.Abort();
        _responseReader?.Complete();
        if (_response is not null)
        {
            _response.Dispose();
        }
        else
        {
            _responseTask.ContinueWith(static t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        _callSource.Dispose();
        _deadlineSource?.Dispose();
    }

    private Task<HttpResponseMessage> GetResponseAsync()
    {
        lock (_lock)
        {
            return _processedResponse ??= ProcessResponseAsync();
        }
    }

    private async Task<HttpResponseMessage> ProcessResponseAsync()
    {
        HttpResponseMessage response;
        try
        {
            response = await _responseTask.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw Fail(ex, default);
        }

        _response = response;
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var detail = string.Create(CultureInfo.InvariantCulture, $"Bad gRPC response. HTTP status code: {(int)response.StatusCode}.");
            if (ReadStatus(response.Headers) is { Detail.Length: > 0 } serverStatus)
            {
                detail += " " + serverStatus.Detail;
            }

            SetFinal(new Status(GrpcStatusMapping.FromHttpStatus(response.StatusCode), detail), ReadMetadata(response.Headers));
        }
        else if (ReadStatus(response.Headers) is { } trailersOnly)
        {
            SetFinal(trailersOnly, ReadMetadata(response.Headers));
        }
        else if (!GrpcProtocol.IsGrpcContentType(response.Content.Headers.ContentType?.ToString()))
        {
            SetFinal(new Status(StatusCode.Unknown, $"Bad gRPC response. Content-Type '{response.Content.Headers.ContentType}' is not application/grpc."), null);
        }

        if (_status is not null)
        {
            _requestContent?.Abort();
        }

        return response;
    }

    private bool EndOrThrow(Status status) =>
        status.StatusCode == StatusCode.OK ? false : throw new RpcException(status, Trailers);

    private void SetFinal(Status status, Metadata? trailers)
    {
        lock (_lock)
        {
            if (_status is null)
            {
                _status = status;
                _trailers = trailers;
            }
        }
    }

    /// <summary>Ends the call locally with <paramref name="status"/> and resets the stream.</summary>
    private RpcException Abandon(Status status)
    {
        // The local verdict replaces whatever the server said (e.g. OK without a message).
        lock (_lock)
        {
            _status = status;
        }

        _callSource.Cancel();
        return new RpcException(status, Trailers);
    }

    private RpcException Fail(Exception exception, CancellationToken operationToken)
    {
        if (_status is { } known && known.StatusCode != StatusCode.OK)
        {
            return new RpcException(known, Trailers);
        }

        Status status;
        if (Find<RpcException>(exception) is { } rpc)
        {
            status = rpc.Status;
        }
        else if (_deadlineSource?.IsCancellationRequested == true)
        {
            status = new Status(StatusCode.DeadlineExceeded, "Deadline exceeded.", exception);
        }
        else if (_userToken.IsCancellationRequested || operationToken.IsCancellationRequested || _disposed)
        {
            status = new Status(StatusCode.Cancelled, "The call was cancelled by the client.", exception);
        }
        else if (Find<HttpProtocolException>(exception) is { } protocol)
        {
            status = new Status(GrpcStatusMapping.FromHttp2ErrorCode(protocol.ErrorCode),
                string.Create(CultureInfo.InvariantCulture, $"The stream was reset (HTTP/2 error code 0x{protocol.ErrorCode:X}): {protocol.Message}"), exception);
        }
        else if (exception is HttpRequestException or IOException)
        {
            status = new Status(StatusCode.Unavailable, "Error talking to the server: " + exception.Message, exception);
        }
        else if (exception is OperationCanceledException)
        {
            status = new Status(StatusCode.Cancelled, "The call was cancelled.", exception);
        }
        else
        {
            status = new Status(StatusCode.Internal, "Client call failed: " + exception.Message, exception);
        }

        SetFinal(status, null);
        _callSource.Cancel();
        return new RpcException(status, Trailers);
    }

    private void OnCancelled()
    {
        // Deadline or user cancellation: end the HTTP/2 stream now, even if nothing is being read.
        _requestContent?.Abort();
        if (_status is null)
        {
            _response?.Dispose();
        }
    }

    private static T? Find<T>(Exception exception)
        where T : Exception
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is T match)
            {
                return match;
            }
        }

        return null;
    }

    private static string? GetEncoding(HttpResponseMessage response) =>
        response.Headers.TryGetValues(GrpcProtocol.EncodingHeader, out var values) ? values.FirstOrDefault() : null;

    private static Status? ReadStatus(HttpHeaders headers)
    {
        if (!headers.TryGetValues(GrpcProtocol.StatusHeader, out var statusValues))
        {
            return null;
        }

        var text = statusValues.FirstOrDefault();
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var code))
        {
            return new Status(StatusCode.Unknown, $"Invalid grpc-status '{text}'.");
        }

        var message = headers.TryGetValues(GrpcProtocol.MessageHeader, out var messageValues)
            ? PercentEncoding.Decode(messageValues.FirstOrDefault() ?? string.Empty)
            : string.Empty;
        return new Status((StatusCode)code, message);
    }

    private static Metadata ReadMetadata(HttpHeaders headers)
    {
        var metadata = new Metadata();
        foreach (var header in headers.NonValidated)
        {
            if (GrpcProtocol.IsReservedHeader(header.Key))
            {
                continue;
            }

            foreach (var value in header.Value)
            {
                GrpcProtocol.AddReceivedValue(metadata, header.Key, value);
            }
        }

        return metadata;
    }
}
