using System.Globalization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Snn.Server.Rpc;

namespace Snn.InteropServer;

/// <summary>Builds the interop server: h2c on 127.0.0.1, TestService and Health on the Snn transport.</summary>
public static class InteropServerApp
{
    /// <summary>Builds (does not start) the server on 127.0.0.1:<paramref name="port"/> (0 = a free port).</summary>
    public static WebApplication Build(int port, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"));
        builder.ConfigureGrpcKestrel();
        builder.Services.AddGrpcTransport(options => options.EnableDetailedErrors = true);
        builder.Services.AddGrpcRoutes(static (router, _) => TestServiceImpl.Register(router));
        builder.Services.AddHealthService();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseGrpcTransport();
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
