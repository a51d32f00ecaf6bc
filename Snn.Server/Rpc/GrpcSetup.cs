using Grpc.AspNetCore.Server;
using Grpc.AspNetCore.Server.Model;
using Grpc.AspNetCore.Web;
using Microsoft.AspNetCore.Http;
using Serilog;
using Snn.Server.Services;

namespace Snn.Server.Rpc;

/// <summary>
/// The Grpc.AspNetCore composition of the server: <c>snn.v1.Snn</c> (generated base, hand-declared
/// Run and Watch), the error interceptor, the request framing check, message limits, health,
/// reflection, JSON transcoding and gRPC-Web, and one log line per HTTP request.
/// </summary>
internal static class GrpcSetup
{
    /// <summary>Service name under which health reports the API (besides "" for the whole server).</summary>
    public const string ServiceName = "snn.v1.Snn";

    public static IServiceCollection AddSnnGrpc(this IServiceCollection services, IConfiguration config, int maxMessageBytes)
    {
        bool detailedErrors = SnnConfiguration.Get(config, "Snn:DetailedErrors", false);
        services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = maxMessageBytes;
            o.MaxSendMessageSize = maxMessageBytes;
            o.CompressionProviders = CheckedCompression.Providers();

            // Exception texts stay in the server log unless an operator asks otherwise.
            o.EnableDetailedErrors = detailedErrors;
            o.Interceptors.Add<ErrorInterceptor>();

            // Inside the error mapping: keys, the caller's tenant and its quotas (Security/).
            o.Interceptors.Add<Security.TenantInterceptor>();
        }).AddJsonTranscoding(o =>
        {
            // proto3's JSON mapping: 64-bit integers are strings (a JavaScript number loses precision past 2^53).
            o.JsonSettings.WriteInt64sAsStrings = true;
        });
        services.AddSingleton<IServiceMethodProvider<SnnService>, SnnMethods.Provider>();
        services.AddSingleton<OpenStreams>();
        services.AddGrpcHealthChecks(o => o.Services.Map(ServiceName, _ => true))
            .AddCheck<StepLoopHealthCheck>("step-loop", tags: [Observability.MetricsSetup.ReadyTag]);
        if (ReflectionEnabled(config))
        {
            services.AddGrpcReflection();
        }

        // Browser pages served from other origins call gRPC-Web and the JSON API only where CORS allows them.
        var origins = CorsOrigins(config);
        if (origins.Length > 0)
        {
            services.AddCors(o => o.AddPolicy(CorsPolicy, policy => policy
                .WithOrigins(origins)
                .AllowAnyMethod()
                .AllowAnyHeader()
                .WithExposedHeaders("grpc-status", "grpc-message", "grpc-status-details-bin")));
        }

        return services;
    }

    public static WebApplication MapSnnGrpc(this WebApplication app, IConfiguration config)
    {
        app.UseSerilogRequestLogging(o =>
        {
            o.Logger = app.Services.GetRequiredService<Serilog.ILogger>();
            o.MessageTemplate = "{Protocol} {RequestMethod} {RequestPath} {StatusCode} grpc-status {GrpcStatus} in {Elapsed:0.0} ms";
            o.EnrichDiagnosticContext = (diagnostics, http) =>
            {
                diagnostics.Set("Protocol", http.Request.Protocol);
                diagnostics.Set("GrpcStatus", GrpcStatus(http));
            };
        });
        app.UseRouting();
        bool cors = CorsOrigins(config).Length > 0;
        if (cors)
        {
            app.UseCors();
        }

        app.UseAuthentication();
        app.UseAuthorization();
        app.UseGrpcWeb(new GrpcWebOptions { DefaultEnabled = true });

        // After gRPC-Web, which decodes grpc-web-text bodies into the same framing.
        app.UseGrpcRequestFraming();
        var api = app.MapGrpcService<SnnService>();
        api.Add(SnnMethods.PreferOverGenerated);
        if (cors)
        {
            api.RequireCors(CorsPolicy);
        }

        app.MapGrpcHealthChecksService();
        if (ReflectionEnabled(config))
        {
            app.MapGrpcReflectionService();
        }

        return app;
    }

    private const string CorsPolicy = "snn-browser-pages";

    /// <summary>Origins whose pages may call the API from a browser (<c>Snn:Cors:Origins</c>, <c>;</c>-separated; none by default).</summary>
    private static string[] CorsOrigins(IConfiguration config) =>
        (config["Snn:Cors:Origins"] ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Server reflection (for grpcurl and other generic tools): <c>Snn:Reflection</c>, on by default.</summary>
    private static bool ReflectionEnabled(IConfiguration config) => SnnConfiguration.Get(config, "Snn:Reflection", true);

    /// <summary>The call's grpc-status (trailers, or headers for a trailers-only answer); "-" for plain HTTP.</summary>
    private static string GrpcStatus(HttpContext http)
    {
        var trailers = http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseTrailersFeature>()?.Trailers;
        if (trailers is not null && trailers.TryGetValue("grpc-status", out var fromTrailers))
        {
            return fromTrailers.ToString();
        }

        return http.Response.Headers.TryGetValue("grpc-status", out var fromHeaders) ? fromHeaders.ToString() : "-";
    }
}
