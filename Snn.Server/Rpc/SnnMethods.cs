using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Routing;
using Snn.Protos.V1;
using Snn.Server.Services;

namespace Snn.Server.Rpc;

/// <summary>
/// The methods of <c>snn.v1.Snn</c> as the server serves them. The generated <c>SnnBase</c> gives the
/// contract (and the descriptors that reflection and JSON transcoding read), but two things it cannot:
/// <list type="bullet">
/// <item>Run and Watch answer with <see cref="FrameBatch"/>es, which encode pooled step frames straight
/// into the response buffer as <c>RunResponse</c> bytes (no protobuf object per message): these two
/// methods are declared here by hand;</item>
/// <item>a request that is not valid protobuf gets INVALID_ARGUMENT naming the message, not UNKNOWN:
/// every request marshaller is wrapped.</item>
/// </list>
/// <see cref="Provider"/> adds these endpoints with a lower route order than the generated ones of the
/// same routes, which are never reached. Clients see exactly the declared contract.
/// </summary>
internal static class SnnMethods
{
    private const string Service = "snn.v1.Snn";

    /// <summary>Writes a batch into the serialization context's buffer writer; allocation-free.</summary>
    public static readonly Marshaller<FrameBatch> FrameBatchMarshaller = Marshallers.Create<FrameBatch>(
        (batch, context) =>
        {
            context.SetPayloadLength(batch.CalculateSize());
            batch.WriteTo(context.GetBufferWriter());
            context.Complete();
        },
        _ => throw new InvalidOperationException("a FrameBatch is only ever written; parse a RunResponse"));

    public static readonly Method<RunRequest, FrameBatch> Run =
        new(MethodType.DuplexStreaming, Service, "Run", Strict(Protobuf(RunRequest.Parser)), FrameBatchMarshaller);

    public static readonly Method<WatchRequest, FrameBatch> Watch =
        new(MethodType.ServerStreaming, Service, "Watch", Strict(Protobuf(WatchRequest.Parser)), FrameBatchMarshaller);

    /// <summary>A request marshaller that refuses bytes that do not parse with INVALID_ARGUMENT.</summary>
    public static Marshaller<T> Strict<T>(Marshaller<T> marshaller) => Marshallers.Create(
        marshaller.ContextualSerializer,
        context =>
        {
            try
            {
                return marshaller.ContextualDeserializer(context);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument,
                    $"the request is not a valid {typeof(T).Name} message ({e.Message}); send protobuf-encoded snn.v1 messages"));
            }
        });

    private static Marshaller<T> Protobuf<T>(MessageParser<T> parser)
        where T : IMessage<T> => Marshallers.Create(
        (message, context) =>
        {
            context.SetPayloadLength(message.CalculateSize());
            message.WriteTo(context.GetBufferWriter());
            context.Complete();
        },
        context => parser.ParseFrom(context.PayloadAsReadOnlySequence()));

    /// <summary>Marks the endpoints added here, so that <see cref="PreferOverGenerated"/> finds them.</summary>
    internal sealed class EndpointMarker
    {
        public static readonly EndpointMarker Instance = new();
    }

    /// <summary>Gives the endpoints added here precedence over the generated ones of the same route.</summary>
    public static void PreferOverGenerated(EndpointBuilder endpoint)
    {
        if (endpoint is RouteEndpointBuilder route && endpoint.Metadata.Contains(EndpointMarker.Instance))
        {
            route.Order = -1;
        }
    }

    /// <summary>
    /// Adds every method of <see cref="SnnService"/>: the unary ones as the generated binder declares
    /// them but with strict request marshallers, then Run and Watch.
    /// </summary>
    internal sealed class Provider(RunHandler run, WatchHandler watch) : IServiceMethodProvider<SnnService>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<SnnService> context)
        {
            Protos.V1.Snn.BindService(new UnaryBinder(context), null);
            context.AddDuplexStreamingMethod(Run, [EndpointMarker.Instance],
                (_, requests, responses, call) => run.Run(requests, responses, call));
            context.AddServerStreamingMethod(Watch, [EndpointMarker.Instance],
                (_, request, responses, call) => watch.Watch(request, responses, call));
        }
    }

    /// <summary>Receives the generated method declarations; keeps the unary ones, bound to <see cref="SnnService"/>'s overrides.</summary>
    private sealed class UnaryBinder(ServiceMethodProviderContext<SnnService> context) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
        {
            var strict = new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name,
                Strict(method.RequestMarshaller), method.ResponseMarshaller);
            var target = typeof(SnnService).GetMethod(method.Name, [typeof(TRequest), typeof(ServerCallContext)])
                ?? throw new InvalidOperationException($"SnnService does not implement {method.FullName}");
            var invoker = target.CreateDelegate<UnaryServerMethod<SnnService, TRequest, TResponse>>();
            context.AddUnaryMethod(strict, [EndpointMarker.Instance], invoker);
        }

        // Run and Watch are declared above with FrameBatch responses; the service has no other shapes.
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
        {
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
        {
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
            throw new InvalidOperationException($"{method.FullName}: snn.v1.Snn has no client-streaming method to bind");
    }
}
