namespace Snn.Server.Rpc.Internal;

/// <summary>A deferred route registration, applied when the <see cref="GrpcRouter"/> singleton is created.</summary>
internal sealed class GrpcRouteRegistration(Action<GrpcRouter, IServiceProvider> register)
{
    public void Apply(GrpcRouter router, IServiceProvider services) => register(router, services);
}
