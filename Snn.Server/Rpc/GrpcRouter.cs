using Google.Protobuf;
using Snn.Server.Rpc.Internal;

namespace Snn.Server.Rpc;

/// <summary>
/// The route table of the transport: one handler per <c>/service/method</c>. Registered as a
/// singleton by <see cref="GrpcTransportServiceCollectionExtensions.AddGrpcTransport"/>; add the
/// routes at startup (<see cref="GrpcTransportServiceCollectionExtensions.AddGrpcRoutes"/> or
/// directly on the resolved instance before the server starts).
/// </summary>
public sealed class GrpcRouter
{
    private readonly Lock _lock = new();
    private Dictionary<string, GrpcMethodHandler> _methods = new(StringComparer.Ordinal);
    private HashSet<string> _services = new(StringComparer.Ordinal);

    /// <summary>The names of the services with at least one method, e.g. <c>snn.v1.Snn</c>.</summary>
    public IReadOnlyCollection<string> Services => Volatile.Read(ref _services);

    /// <summary>Adds a unary method.</summary>
    public void AddUnary<TRequest, TResponse>(string service, string method, MessageParser<TRequest> parser, Func<TRequest, ServerCallContext, Task<TResponse>> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse> =>
        Add(new UnaryMethodHandler<TRequest, TResponse>(service, method, parser, handler));

    /// <summary>Adds a server-streaming method.</summary>
    public void AddServerStreaming<TRequest, TResponse>(string service, string method, MessageParser<TRequest> parser, Func<TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse> =>
        Add(new ServerStreamingMethodHandler<TRequest, TResponse>(service, method, parser, handler));

    /// <summary>Adds a client-streaming method.</summary>
    public void AddClientStreaming<TRequest, TResponse>(string service, string method, MessageParser<TRequest> parser, Func<IAsyncStreamReader<TRequest>, ServerCallContext, Task<TResponse>> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse> =>
        Add(new ClientStreamingMethodHandler<TRequest, TResponse>(service, method, parser, handler));

    /// <summary>Adds a bidirectional (duplex) streaming method.</summary>
    public void AddDuplexStreaming<TRequest, TResponse>(string service, string method, MessageParser<TRequest> parser, Func<IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse> =>
        Add(new DuplexStreamingMethodHandler<TRequest, TResponse>(service, method, parser, handler));

    /// <summary>True when a method of <paramref name="service"/> is registered.</summary>
    public bool IsServiceRegistered(string service) => Volatile.Read(ref _services).Contains(service);

    internal bool TryGetMethod(string path, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out GrpcMethodHandler? handler) =>
        Volatile.Read(ref _methods).TryGetValue(path, out handler);

    private void Add(GrpcMethodHandler handler)
    {
        // Copy on write: lookups on the request path read a snapshot without locking.
        lock (_lock)
        {
            if (_methods.ContainsKey(handler.Path))
            {
                throw new InvalidOperationException($"The method {handler.Path} is already registered.");
            }

            var methods = new Dictionary<string, GrpcMethodHandler>(_methods, StringComparer.Ordinal) { [handler.Path] = handler };
            var services = new HashSet<string>(_services, StringComparer.Ordinal) { handler.ServiceName };
            Volatile.Write(ref _methods, methods);
            Volatile.Write(ref _services, services);
        }
    }
}
