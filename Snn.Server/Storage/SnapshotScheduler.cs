using Snn.Server.Engine;

namespace Snn.Server.Storage;

/// <summary>
/// Automatic snapshots: every network's full state each <see cref="SnapshotOptions.Period"/> (when
/// set), and once more when the server stops gracefully (<see cref="SnapshotOptions.OnShutdown"/>). Each
/// replaces the network's previous automatic snapshot.
/// </summary>
internal sealed partial class SnapshotScheduler(StepLoop loop, Durability durability, SnapshotOptions options,
    ILogger<SnapshotScheduler> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Period <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Period);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await SnapshotAllAsync(SnapshotOrigin.Periodic, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>The shutdown snapshot (when <see cref="SnapshotOptions.OnShutdown"/>): taken while the server stops, before the step loop ends.</summary>
    public Task SnapshotOnShutdownAsync() =>
        options.OnShutdown ? SnapshotAllAsync(SnapshotOrigin.Shutdown, CancellationToken.None) : Task.CompletedTask;

    private async Task SnapshotAllAsync(SnapshotOrigin origin, CancellationToken cancellationToken)
    {
        foreach (var network in loop.Networks)
        {
            try
            {
                await durability.SaveSnapshotAsync(network, null, origin, cancellationToken);
            }
            catch (EngineException e) when (e.Error == EngineError.NotFound)
            {
                // Deleted meanwhile.
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFailed(e, origin, network.Name);
            }
        }
    }

    [LoggerMessage(EventId = 22, Level = LogLevel.Error, Message = "the {Origin} snapshot of network '{Network}' failed")]
    private partial void LogFailed(Exception exception, SnapshotOrigin origin, string network);
}
