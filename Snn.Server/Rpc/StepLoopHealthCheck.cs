using Microsoft.Extensions.Diagnostics.HealthChecks;
using Snn.Server.Engine;

namespace Snn.Server.Rpc;

/// <summary>Healthy while the step loop ticks: its thread runs and began a pass within the last 5 s.</summary>
internal sealed class StepLoopHealthCheck(StepLoop loop) : IHealthCheck
{
    public static readonly TimeSpan Within = TimeSpan.FromSeconds(5);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(loop.IsTicking(Within)
            ? HealthCheckResult.Healthy("the step loop ticks")
            : HealthCheckResult.Unhealthy("the step loop is not ticking (stopped, or stuck in one pass for 5 s)"));
}
