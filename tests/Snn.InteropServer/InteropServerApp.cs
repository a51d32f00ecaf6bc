using System.Globalization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Snn.Server.Rpc;

namespace Snn.InteropServer;

/// <summary>
/// Builds the interop server: h2c on 127.0.0.1 (Kestrel set up by the server's own
/// <see cref="GrpcKestrelExtensions.ConfigureGrpcKestrel"/>), TestService and Health on Grpc.AspNetCore.
/// </summary>
public static class InteropServerApp
{
    /// <summary>Builds (does not start) the server on 127.0.0.1:<paramref name="port"/> (0 = a free port).</summary>
    public static WebApplication Build(int port, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"));

        // gRPC only: no HTTP/1.1 endpoint (the server's default would bind 127.0.0.1:8080).
        builder.Configuration["Snn:HttpUrls"] = string.Empty;
        builder.ConfigureGrpcKestrel();

        // The interop cases echo statuses and messages set by the client; exception texts help when one fails.
        builder.Services.AddGrpc(o => o.EnableDetailedErrors = true);
        // Health answers from the registered checks; with none it would say UNKNOWN, not SERVING.
        builder.Services.AddGrpcHealthChecks(o => o.Services.Map(TestServiceImpl.ServiceName, _ => true))
            .AddCheck("interop", () => HealthCheckResult.Healthy());
        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapGrpcService<TestServiceImpl>();
        app.MapGrpcHealthChecksService();
        return app;
    }

    /// <summary>The port a started server listens on.</summary>
    public static int GetPort(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses
            ?? throw new InvalidOperationException("The server has no addresses; is it started?");
        foreach (var address in addresses)
        {
            return new Uri(address).Port;
        }

        throw new InvalidOperationException("The server has no addresses; is it started?");
    }
}
