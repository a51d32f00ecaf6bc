using Snn.Grpc;
using Snn.Grpc.Health.V1;

namespace Snn.Server.Rpc.Internal;

/// <summary>
/// <c>grpc.health.v1.Health</c>: SERVING for the server ("") and for every registered service;
/// NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch) for any other name.
/// </summary>
internal sealed class HealthService(GrpcRouter router)
{
    public const string ServiceName = "grpc.health.v1.Health";

    private static readonly HealthCheckResponse Serving = new() { Status = HealthCheckResponse.Types.ServingStatus.Serving };
    private static readonly HealthCheckResponse Unknown = new() { Status = HealthCheckResponse.Types.ServingStatus.ServiceUnknown };

    public void Register()
    {
        router.AddUnary<HealthCheckRequest, HealthCheckResponse>(ServiceName, "Check", HealthCheckRequest.Parser, CheckAsync);
        router.AddServerStreaming<HealthCheckRequest, HealthCheckResponse>(ServiceName, "Watch", HealthCheckRequest.Parser, WatchAsync);
    }

    private Task<HealthCheckResponse> CheckAsync(HealthCheckRequest request, ServerCallContext context) =>
        IsKnown(request.Service)
            ? Task.FromResult(Serving)
            : throw new RpcException(new Status(StatusCode.NotFound, $"Service '{request.Service}' is not known to this server."));

    private async Task WatchAsync(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> writer, ServerCallContext context)
    {
        await writer.WriteAsync(IsKnown(request.Service) ? Serving : Unknown).ConfigureAwait(false);

        // Statuses never change while the server runs: hold the stream until the client leaves.
        try
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private bool IsKnown(string service) => service.Length == 0 || router.IsServiceRegistered(service);
}
