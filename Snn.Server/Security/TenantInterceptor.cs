using System.Threading.RateLimiting;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Snn.Protos.V1;

namespace Snn.Server.Security;

/// <summary>
/// Runs inside <see cref="Rpc.ErrorInterceptor"/> for every gRPC call (HTTP/2, gRPC-Web and the JSON API alike):
/// <list type="bullet">
/// <item>with API keys configured, a call without a valid key ends UNAUTHENTICATED (gRPC health excepted, like
/// <c>/healthz</c>); the JSON API answers that as HTTP 401;</item>
/// <item>records the call's tenant for <see cref="TenantScope"/>;</item>
/// <item>holds the tenant's requests to <see cref="QuotaOptions.MaxMessageBytes"/>, its Run and Watch streams
/// to <see cref="QuotaOptions.MaxOpenStreams"/>, and each Run stream to <see cref="QuotaOptions.MaxInputsPerSecond"/>.</item>
/// </list>
/// Refusals are thrown as <see cref="RpcException"/> or <see cref="Engine.EngineException"/>; ErrorInterceptor passes or maps them.
/// </summary>
internal sealed class TenantInterceptor(ApiKeys keys, TenantQuotas quotas, Services.SnnService service) : Interceptor
{
    private const string Open = "/grpc.health.v1.Health/";

    private const string StreamingApi = "/snn.v1.Snn/";

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (!Enter(context))
        {
            return continuation(request, context);
        }

        CheckSize(request, context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation) =>
        Enter(context) ? continuation(new Checked<TRequest>(requestStream, this, context, null), context) : continuation(requestStream, context);

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        if (!Enter(context))
        {
            await continuation(request, responseStream, context);
            return;
        }

        CheckSize(request, context);
        using var lease = OpenStream(context);
        await continuation(request, responseStream, context);
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        if (!Enter(context))
        {
            await continuation(requestStream, responseStream, context);
            return;
        }

        using var lease = OpenStream(context);
        using var bucket = typeof(TRequest) == typeof(RunRequest) ? InputBucket() : null;
        await continuation(new Checked<TRequest>(requestStream, this, context, bucket), responseStream, context);
    }

    /// <summary>Authenticates the call and records its tenant; false for the open services (health).</summary>
    private bool Enter(ServerCallContext context)
    {
        if (context.Method.StartsWith(Open, StringComparison.Ordinal))
        {
            return false;
        }

        string tenant = TenantScope.Anonymous;
        if (keys.Enabled)
        {
            var http = context.GetHttpContext();
            if (ApiKeyAuthentication.Refusal(http) is { } refusal)
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, refusal));
            }

            tenant = ApiKeyAuthentication.Tenant(http)!;
        }

        TenantScope.Enter(context, tenant);
        return true;
    }

    private TenantQuotas.StreamLease? OpenStream(ServerCallContext context) =>
        context.Method.StartsWith(StreamingApi, StringComparison.Ordinal) ? quotas.OpenStream(TenantScope.Tenant(context)) : null;

    /// <summary>A Run stream's bucket: one second's worth of inputs, refilled a tenth each 100 ms.</summary>
    private TokenBucketRateLimiter InputBucket()
    {
        int rate = quotas.Options.MaxInputsPerSecond;
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = rate,
            TokensPerPeriod = Math.Max(1, rate / 10),
            ReplenishmentPeriod = TimeSpan.FromMilliseconds(100),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    /// <summary>Refuses a request over the tenant's message quota (only measured when that is below the transport's limit).</summary>
    private void CheckSize<TRequest>(TRequest request, ServerCallContext context)
    {
        int quota = quotas.Options.MaxMessageBytes;
        if (quota != 0 && quota < service.MaxMessageBytes && request is IMessage message && message.CalculateSize() is var size && size > quota)
        {
            throw TenantQuotas.Exhausted("MaxMessageBytes",
                $"this {typeof(TRequest).Name} has {size} bytes and {TenantQuotas.Who(TenantScope.Tenant(context))} may send at most {quota}; send less per message");
        }
    }

    private void CheckInputs(RunRequest request, RateLimiter bucket)
    {
        int count = request.Inputs.Count;
        if (count == 0)
        {
            return;
        }

        int rate = quotas.Options.MaxInputsPerSecond;
        using var lease = count > rate ? null : bucket.AttemptAcquire(count);
        if (lease is not { IsAcquired: true })
        {
            throw TenantQuotas.Exhausted("MaxInputsPerSecond",
                $"this Run stream sent inputs faster than {rate} per second (this request has {count}); send fewer inputs per second");
        }
    }

    /// <summary>The request stream as the handler reads it: each message is checked against the quotas as it arrives.</summary>
    private sealed class Checked<T>(IAsyncStreamReader<T> inner, TenantInterceptor owner, ServerCallContext context, RateLimiter? bucket)
        : IAsyncStreamReader<T>
    {
        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (!await inner.MoveNext(cancellationToken))
            {
                return false;
            }

            owner.CheckSize(inner.Current, context);
            if (bucket is not null && inner.Current is RunRequest run)
            {
                owner.CheckInputs(run, bucket);
            }

            return true;
        }
    }
}
