using Microsoft.Extensions.Diagnostics.HealthChecks;
using Snn.Server.Engine;

namespace Snn.Server.Rpc;

/// <summary>
/// Healthy while the step loop ticks: its thread runs and began a pass within the last 5 s. A loop that
/// stops ticking while the server runs is logged here as an error, once until it ticks again; while the
/// server shuts down, not ticking is expected and reported without an error. (ASP.NET Core's own
/// health-check log, which would call every unhealthy result an error, is kept quiet in Logging.)
/// </summary>
internal sealed partial class StepLoopHealthCheck(StepLoop loop, IHostApplicationLifetime lifetime, ILogger<StepLoopHealthCheck> logger) : IHealthCheck
{
    public static readonly TimeSpan Within = TimeSpan.FromSeconds(5);

    private int _reported;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (loop.IsTicking(Within))
        {
            Interlocked.Exchange(ref _reported, 0);
            return Task.FromResult(HealthCheckResult.Healthy("the step loop ticks"));
        }

        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy(EngineException.ShuttingDownMessage));
        }

        if (Interlocked.Exchange(ref _reported, 1) == 0)
        {
            LogNotTicking();
        }

        return Task.FromResult(HealthCheckResult.Unhealthy("the step loop is not ticking (stopped, or stuck in one pass for 5 s)"));
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "the step loop is not ticking (stopped, or stuck in one pass for 5 s); health reports NOT_SERVING")]
    private partial void LogNotTicking();
}
