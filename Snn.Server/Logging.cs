using Serilog;
using Serilog.Events;
using Serilog.Extensions.Logging;
using Serilog.Formatting.Compact;

namespace Snn.Server;

/// <summary>
/// The server's Serilog logger (through Serilog.AspNetCore: it is the host's logger factory, and
/// Rpc/GrpcSetup adds one line per HTTP request, gRPC calls included, never one per stream message). A <c>Serilog</c> configuration section, when present, decides
/// everything (sinks, levels, formats). Otherwise: console, information and up (Microsoft.* from
/// warning; the host's lifetime and the request log at information), as text, or as compact JSON
/// (one object a line, for containers) with <c>Snn:Logging:Json=true</c>.
/// </summary>
internal static class Logging
{
    public static Serilog.ILogger CreateLogger(IConfiguration config, LoggerProviderCollection providers)
    {
        if (config.GetSection("Serilog").Exists())
        {
            return new LoggerConfiguration().ReadFrom.Configuration(config).WriteTo.Providers(providers).CreateLogger();
        }

        var logger = new LoggerConfiguration()
            .WriteTo.Providers(providers)
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)

            // It logs every unhealthy result as an error, a stopping server's included; Rpc/StepLoopHealthCheck logs what matters.
            .MinimumLevel.Override("Microsoft.Extensions.Diagnostics.HealthChecks", LogEventLevel.Fatal)
            .Enrich.FromLogContext();
        return (SnnConfiguration.Get(config, "Snn:Logging:Json", false)
                ? logger.WriteTo.Console(new RenderedCompactJsonFormatter())
                : logger.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}"))
            .CreateLogger();
    }
}
