using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Snn.Server.Rpc.Internal;

namespace Snn.Server.Rpc;

/// <summary>Registration of the gRPC transport in the service collection.</summary>
public static class GrpcTransportServiceCollectionExtensions
{
    /// <summary>Registers the transport: <see cref="GrpcRouter"/> (singleton), its options and dispatcher.</summary>
    public static IServiceCollection AddGrpcTransport(this IServiceCollection services, Action<GrpcTransportOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var optionsBuilder = services.AddOptions<GrpcTransportOptions>();
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        services.TryAddSingleton(static provider =>
        {
            var router = new GrpcRouter();
            foreach (var registration in provider.GetServices<GrpcRouteRegistration>())
            {
                registration.Apply(router, provider);
            }

            return router;
        });
        services.TryAddSingleton<GrpcDispatcher>();
        return services;
    }

    /// <summary>
    /// Adds routes when the router is created, e.g.
    /// <c>services.AddGrpcRoutes((router, sp) => sp.GetRequiredService&lt;SnnService&gt;().Register(router))</c>.
    /// </summary>
    public static IServiceCollection AddGrpcRoutes(this IServiceCollection services, Action<GrpcRouter, IServiceProvider> register)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(register);
        services.AddSingleton(new GrpcRouteRegistration(register));
        return services;
    }

    /// <summary>Serves <c>grpc.health.v1.Health</c> (Check and Watch): SERVING for "" and every registered service.</summary>
    public static IServiceCollection AddHealthService(this IServiceCollection services) =>
        services.AddGrpcRoutes(static (router, _) => new HealthService(router).Register());
}
