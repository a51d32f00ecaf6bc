using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using Snn.Server.Engine;
using Snn.Server.Rpc;

namespace Snn.Server.Observability;

/// <summary>
/// Observation over plain HTTP: the instruments of <see cref="SnnMetrics"/> in the Prometheus text
/// format at <c>/metrics</c> (OpenTelemetry's exporter), liveness at <c>/healthz</c> and readiness at
/// <c>/readyz</c> (the health checks gRPC health reports). Mapped on every endpoint.
/// </summary>
internal static class MetricsSetup
{
    /// <summary>Tag of the health checks that readiness (and gRPC health) runs; liveness runs none.</summary>
    public const string ReadyTag = "ready";

    public static IServiceCollection AddSnnMetrics(this IServiceCollection services)
    {
        // This server's meter: a process may host several servers (the tests do), each with a meter of
        // the same name; the exporter of each collects its own and drops the others' instruments.
        var metrics = new SnnMetrics();
        services.AddSingleton(_ => metrics); // made by a factory, so the container disposes it
        services.AddOpenTelemetry().WithMetrics(b => b
            .AddMeter(SnnMetrics.MeterName)
            .AddView(instrument => instrument.Meter.Name == SnnMetrics.MeterName && !ReferenceEquals(instrument.Meter, metrics.Meter)
                ? MetricStreamConfiguration.Drop
                : null)
            .AddPrometheusExporter(o =>
            {
                // Every scrape collects afresh (the default would serve one collection for 300 ms).
                o.ScrapeResponseCacheDurationMilliseconds = 0;
            }));
        return services;
    }

    public static WebApplication MapSnnObservation(this WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<SnnMetrics>();
        metrics.Observe(app.Services.GetRequiredService<StepLoop>(), app.Services.GetRequiredService<OpenStreams>());

        // The provider listens from now on; counters then show 0 from the first scrape rather than from their first event.
        app.Services.GetRequiredService<MeterProvider>();
        metrics.ShowCounters();
        // With API keys configured, metrics need one (any tenant's); health stays open for probes.
        var scrape = app.MapPrometheusScrapingEndpoint("/metrics");
        if (app.Services.GetRequiredService<Security.ApiKeys>().Enabled)
        {
            scrape.RequireAuthorization(Security.SecuritySetup.KeyPolicy);
        }


        // Live: the process answers HTTP (no check runs). Ready: the checks gRPC health runs, i.e. the step loop ticks.
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) });
        return app;
    }
}
