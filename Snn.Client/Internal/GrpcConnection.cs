using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Snn.Grpc;

namespace Snn.Client.Internal;

/// <summary>
/// A channel to one server over an <see cref="HttpClient"/> speaking HTTP/2 only (h2c with
/// prior knowledge for http://, ALPN for https://). Thread-safe; calls share connections.
/// </summary>
internal sealed class GrpcConnection : IDisposable
{
    private static readonly ProductInfoHeaderValue UserAgent = new("snn-client", typeof(GrpcConnection).Assembly.GetName().Version?.ToString(3) ?? "0");
    private readonly bool _disposeHttpClient;

    public GrpcConnection(HttpClient httpClient, bool disposeHttpClient)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        if (httpClient.BaseAddress is null)
        {
            throw new ArgumentException("The HttpClient needs a BaseAddress (the server's http:// or https:// address).", nameof(httpClient));
        }

        HttpClient = httpClient;
        _disposeHttpClient = disposeHttpClient;
    }

    public HttpClient HttpClient { get; }

    /// <summary>Metadata sent with every call (before the call's own headers).</summary>
    public Metadata DefaultHeaders { get; } = [];

    public int MaxReceiveMessageSize { get; set; } = GrpcFraming.DefaultMaxMessageSize;

    public int MaxSendMessageSize { get; set; } = GrpcFraming.DefaultMaxMessageSize;

    /// <summary>An HttpClient set up for gRPC: HTTP/2 exactly, no overall timeout, keep-alive pings.</summary>
    public static HttpClient CreateHttpClient(Uri address, HttpMessageHandler? handler = null, bool disposeHandler = true)
    {
        ArgumentNullException.ThrowIfNull(address);
        handler ??= new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        };
        return new HttpClient(handler, disposeHandler)
        {
            BaseAddress = address,
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(string path, TRequest request, MessageParser<TResponse> parser, CallOptions options)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        using var call = ServerStreaming(path, request, parser, options);
        return await call.ReadSingleResponseAsync().ConfigureAwait(false);
    }

    public GrpcCall<TRequest, TResponse> ServerStreaming<TRequest, TResponse>(string path, TRequest request, MessageParser<TResponse> parser, CallOptions options)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(request);
        var size = request.CalculateSize();
        if (size > MaxSendMessageSize)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"Sending message exceeds the maximum configured message size ({size} > {MaxSendMessageSize} bytes)."));
        }

        return new GrpcCall<TRequest, TResponse>(this, path, parser, new SingleMessageContent<TRequest>(request, MaxSendMessageSize), options);
    }

    /// <summary>Starts a client-streaming or duplex call: write with WriteAsync, half-close with CompleteRequest.</summary>
    public GrpcCall<TRequest, TResponse> Streaming<TRequest, TResponse>(string path, MessageParser<TResponse> parser, CallOptions options)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse> =>
        new(this, path, parser, null, options);

    internal HttpRequestMessage CreateRequest(string path, HttpContent content, Metadata? headers, TimeSpan? timeout)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        var requestHeaders = request.Headers;
        requestHeaders.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        requestHeaders.UserAgent.Add(UserAgent);
        requestHeaders.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, GrpcProtocol.IdentityEncoding);
        if (timeout is { } t)
        {
            requestHeaders.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(t));
        }

        AddMetadata(requestHeaders, DefaultHeaders);
        if (headers is not null)
        {
            AddMetadata(requestHeaders, headers);
        }

        return request;
    }

    public void Dispose()
    {
        if (_disposeHttpClient)
        {
            HttpClient.Dispose();
        }
    }

    private static void AddMetadata(HttpRequestHeaders target, Metadata metadata)
    {
        foreach (var entry in metadata)
        {
            if (GrpcProtocol.IsReservedHeader(entry.Key))
            {
                throw new ArgumentException($"Metadata key '{entry.Key}' is reserved by the gRPC protocol.");
            }

            target.TryAddWithoutValidation(entry.Key, entry.IsBinary ? GrpcProtocol.EncodeBinaryValue(entry.ValueBytes) : entry.Value);
        }
    }
}
