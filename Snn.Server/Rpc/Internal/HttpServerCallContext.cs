using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Snn.Grpc;

namespace Snn.Server.Rpc.Internal;

/// <summary>
/// The state of one server call over one HTTP/2 stream. All writes to the response (headers,
/// messages, status) go through one lock, so a deadline can end the call while a handler that
/// ignores cancellation is still running: later writes fail, the client has its status.
/// </summary>
internal sealed class HttpServerCallContext : ServerCallContext, IDisposable
{
    // Largest delay CancellationTokenSource accepts; a longer timeout is treated as none.
    private static readonly TimeSpan MaxTimerDelay = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly GrpcTransportOptions _options;
    private readonly GrpcMethodHandler _method;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource? _deadlineSource;
    private readonly CancellationTokenSource? _linkedSource;
    private readonly TaskCompletionSource? _deadlineReached;
    private readonly CancellationTokenRegistration _deadlineRegistration;
    private readonly string? _messageEncoding;
    private Metadata? _requestHeaders;
    private Metadata? _responseTrailers;
    private bool _completed;
    private bool _messageWritten;

    public HttpServerCallContext(HttpContext httpContext, GrpcTransportOptions options, GrpcMethodHandler method, TimeSpan? timeout)
    {
        HttpContext = httpContext;
        _options = options;
        _method = method;
        Status = Status.DefaultSuccess;
        _messageEncoding = httpContext.Request.Headers[GrpcProtocol.EncodingHeader];

        if (timeout is { } t && t < MaxTimerDelay)
        {
            Deadline = DateTime.UtcNow + t;
            _deadlineReached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _deadlineSource = new CancellationTokenSource();
            _deadlineRegistration = _deadlineSource.Token.UnsafeRegister(static s => ((TaskCompletionSource)s!).TrySetResult(), _deadlineReached);
            _linkedSource = CancellationTokenSource.CreateLinkedTokenSource(httpContext.RequestAborted, _deadlineSource.Token);
            CancellationToken = _linkedSource.Token;
            _deadlineSource.CancelAfter(t);
        }
        else
        {
            Deadline = DateTime.MaxValue;
            CancellationToken = httpContext.RequestAborted;
        }
    }

    public HttpContext HttpContext { get; }

    public override string Method => _method.Path;

    public override string Host => HttpContext.Request.Host.Value ?? string.Empty;

    public override string Peer => FormatPeer(HttpContext.Connection.RemoteIpAddress, HttpContext.Connection.RemotePort);

    public override DateTime Deadline { get; }

    public override CancellationToken CancellationToken { get; }

    public override Metadata RequestHeaders => _requestHeaders ??= ReadRequestHeaders(HttpContext.Request.Headers);

    public override Metadata ResponseTrailers => _responseTrailers ??= [];

    public override Status Status { get; set; }

    /// <summary>Completes when the deadline passes; null when the call has no deadline.</summary>
    public Task? DeadlineTask => _deadlineReached?.Task;

    public bool DeadlineExceeded => _deadlineSource?.IsCancellationRequested == true;

    public bool ClientCancelled => HttpContext.RequestAborted.IsCancellationRequested;

    public override async Task WriteResponseHeadersAsync(Metadata responseHeaders)
    {
        ArgumentNullException.ThrowIfNull(responseHeaders);
        await _writeLock.WaitAsync(CancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfCompleted();
            if (HttpContext.Response.HasStarted)
            {
                throw new InvalidOperationException("Response headers can only be sent once per call, before the first message.");
            }

            AppendMetadata(HttpContext.Response.Headers, responseHeaders);
            await HttpContext.Response.BodyWriter.FlushAsync(CancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Reads the next request message (null at the end of the request stream), mapping transport failures to statuses.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<T?> ReadMessageAsync<T>(MessageParser<T> parser, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        CancellationTokenSource? linked = null;
        var token = CancellationToken;
        if (cancellationToken.CanBeCanceled && cancellationToken != token)
        {
            linked = CancellationTokenSource.CreateLinkedTokenSource(token, cancellationToken);
            token = linked.Token;
        }

        try
        {
            return await GrpcFraming.ReadMessageAsync(HttpContext.Request.BodyReader, parser, _options.MaxReceiveMessageSize, _messageEncoding, token).ConfigureAwait(false);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "request message is not valid protobuf: " + ex.Message));
        }
        catch (IOException ex)
        {
            // Kestrel reports a client reset (RST_STREAM) as an IOException from the body.
            throw new OperationCanceledException("The client reset the request stream.", ex, CancellationToken);
        }
        finally
        {
            linked?.Dispose();
        }
    }

    /// <summary>Reads the one request message of a unary or server-streaming call.</summary>
    public async ValueTask<T> ReadSingleMessageAsync<T>(MessageParser<T> parser)
        where T : class, IMessage<T>
    {
        var message = await ReadMessageAsync(parser, default).ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.Internal, "The request stream ended without a message."));
        if (await ReadMessageAsync(parser, default).ConfigureAwait(false) is not null)
        {
            throw new RpcException(new Status(StatusCode.Internal, "More than one request message for a method that takes one."));
        }

        return message;
    }

    /// <summary>Writes one response message, flushing it when <paramref name="flush"/> is set.</summary>
    public async Task WriteMessageAsync<T>(T message, bool flush, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        CancellationTokenSource? linked = null;
        var token = CancellationToken;
        if (cancellationToken.CanBeCanceled && cancellationToken != token)
        {
            linked = CancellationTokenSource.CreateLinkedTokenSource(token, cancellationToken);
            token = linked.Token;
        }

        try
        {
            await _writeLock.WaitAsync(token).ConfigureAwait(false);
            try
            {
                ThrowIfCompleted();
                var writer = HttpContext.Response.BodyWriter;
                GrpcFraming.WriteMessage(writer, message, _options.MaxSendMessageSize);
                _messageWritten = true;
                if (flush)
                {
                    var result = await writer.FlushAsync(token).ConfigureAwait(false);
                    if (result.IsCanceled || result.IsCompleted)
                    {
                        throw new OperationCanceledException("The client has stopped reading the response.", CancellationToken);
                    }
                }
            }
            finally
            {
                _writeLock.Release();
            }
        }
        finally
        {
            linked?.Dispose();
        }
    }

    /// <summary>Sends the response headers if nothing has been sent yet.</summary>
    public async Task SendHeadersIfNotStartedAsync()
    {
        await _writeLock.WaitAsync(CancellationToken).ConfigureAwait(false);
        try
        {
            if (!_completed && !HttpContext.Response.HasStarted)
            {
                await HttpContext.Response.BodyWriter.FlushAsync(CancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Writes the status: in the trailers, or, when nothing has been sent yet, as a trailers-only
    /// response (status in the headers). Does nothing if the call is already complete.
    /// </summary>
    public async Task CompleteAsync(Status status)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            Status = status;
            var response = HttpContext.Response;
            if (HttpContext.RequestAborted.IsCancellationRequested)
            {
                return;
            }

            if (!response.HasStarted && !_messageWritten)
            {
                var headers = response.Headers;
                headers[GrpcProtocol.StatusHeader] = StatusCodeText(status.StatusCode);
                if (status.Detail.Length > 0)
                {
                    headers[GrpcProtocol.MessageHeader] = PercentEncoding.Encode(status.Detail);
                }

                if (_responseTrailers is { Count: > 0 })
                {
                    AppendMetadata(headers, _responseTrailers);
                }

                return;
            }

            response.AppendTrailer(GrpcProtocol.StatusHeader, StatusCodeText(status.StatusCode));
            if (status.Detail.Length > 0)
            {
                response.AppendTrailer(GrpcProtocol.MessageHeader, PercentEncoding.Encode(status.Detail));
            }

            if (_responseTrailers is { Count: > 0 })
            {
                foreach (var entry in _responseTrailers)
                {
                    response.AppendTrailer(entry.Key, entry.IsBinary ? GrpcProtocol.EncodeBinaryValue(entry.ValueBytes) : entry.Value);
                }
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Ends the call with DEADLINE_EXCEEDED now, whatever the handler is doing.</summary>
    public async Task EndOnDeadlineAsync()
    {
        await CompleteAsync(new Status(StatusCode.DeadlineExceeded, "Deadline exceeded.")).ConfigureAwait(false);
        if (!HttpContext.RequestAborted.IsCancellationRequested)
        {
            await HttpContext.Response.CompleteAsync().ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        _deadlineRegistration.Dispose();
        _linkedSource?.Dispose();
        _deadlineSource?.Dispose();
    }

    internal static string FormatPeer(IPAddress? address, int port)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return address.AddressFamily == AddressFamily.InterNetworkV6
            ? string.Create(CultureInfo.InvariantCulture, $"ipv6:[{address}]:{port}")
            : string.Create(CultureInfo.InvariantCulture, $"ipv4:{address}:{port}");
    }

    internal static string StatusCodeText(StatusCode code) => code switch
    {
        StatusCode.OK => "0",
        StatusCode.Cancelled => "1",
        StatusCode.Unknown => "2",
        StatusCode.InvalidArgument => "3",
        StatusCode.DeadlineExceeded => "4",
        StatusCode.NotFound => "5",
        StatusCode.AlreadyExists => "6",
        StatusCode.PermissionDenied => "7",
        StatusCode.ResourceExhausted => "8",
        StatusCode.FailedPrecondition => "9",
        StatusCode.Aborted => "10",
        StatusCode.OutOfRange => "11",
        StatusCode.Unimplemented => "12",
        StatusCode.Internal => "13",
        StatusCode.Unavailable => "14",
        StatusCode.DataLoss => "15",
        StatusCode.Unauthenticated => "16",
        _ => ((int)code).ToString(CultureInfo.InvariantCulture),
    };

    internal static void AppendMetadata(IHeaderDictionary headers, Metadata metadata)
    {
        foreach (var entry in metadata)
        {
            var value = entry.IsBinary ? GrpcProtocol.EncodeBinaryValue(entry.ValueBytes) : entry.Value;
            headers.Append(entry.Key, value);
        }
    }

    private static Metadata ReadRequestHeaders(IHeaderDictionary headers)
    {
        var metadata = new Metadata();
        foreach (var header in headers)
        {
            if (GrpcProtocol.IsReservedHeader(header.Key))
            {
                continue;
            }

            foreach (var value in (StringValues)header.Value)
            {
                if (value is not null)
                {
                    GrpcProtocol.AddReceivedValue(metadata, header.Key, value);
                }
            }
        }

        return metadata;
    }

    private void ThrowIfCompleted()
    {
        if (_completed)
        {
            throw Status.StatusCode == StatusCode.DeadlineExceeded
                ? new RpcException(new Status(StatusCode.DeadlineExceeded, "Deadline exceeded: the call has already ended."))
                : new InvalidOperationException("The call has already completed.");
        }
    }
}
