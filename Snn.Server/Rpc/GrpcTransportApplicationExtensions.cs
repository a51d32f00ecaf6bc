using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Snn.Server.Rpc.Internal;

namespace Snn.Server.Rpc;

/// <summary>Adds the gRPC transport to the request pipeline.</summary>
public static class GrpcTransportApplicationExtensions
{
    /// <summary>
    /// Adds the middleware that serves every <c>POST /{service}/{method}</c> with content-type
    /// <c>application/grpc</c> from the <see cref="GrpcRouter"/>: unknown methods get UNIMPLEMENTED,
    /// a registered path with another content type gets HTTP 415. Other requests pass through.
    /// </summary>
    public static WebApplication UseGrpcTransport(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var dispatcher = app.Services.GetRequiredService<GrpcDispatcher>();
        app.Use(next => context => dispatcher.InvokeAsync(context, next));
        return app;
    }
}
