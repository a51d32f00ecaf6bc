using Snn.Server.Engine;
using Snn.Server.Storage;

namespace Snn.Server.Rpc;

/// <summary>
/// A graceful stop, before Kestrel stops: <c>ApplicationStopping</c> (from which <see cref="ErrorInterceptor"/>
/// refuses new calls, and maps what the ending ones raise, to UNAVAILABLE); the shutdown snapshot, taken between two steps while
/// the loop still runs; then the loop, which finishes the step in progress and ends every Run and Watch
/// stream with UNAVAILABLE; then the wait for those streams to send their status (<see cref="OpenStreams.DrainAsync"/>).
/// It runs in the host's stopping phase, asynchronously: whoever stops the host (an in-process
/// <c>StopAsync</c>, a test) is not blocked for the drain, and its own reads of the streams go on.
/// </summary>
internal sealed class GracefulStop(IHostApplicationLifetime lifetime, SnapshotScheduler snapshots, StepLoop loop, OpenStreams streams)
    : IHostedLifecycleService
{
    /// <summary>The longest the stop waits for the ended streams' calls to return.</summary>
    public static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(2);

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        // The host raises ApplicationStopping after the services' StoppingAsync (it already has when a
        // signal or StopApplication began the stop); raising it here first is a no-op then.
        lifetime.StopApplication();

        // The snapshot is not cut short by Snn:ShutdownTimeout: state that was promised durable is written whole.
        await snapshots.SnapshotOnShutdownAsync();
        bool open = streams.Count > 0; // before the loop ends them: a stream that ends at once still needs the read grace
        loop.Dispose();
        await streams.DrainAsync(open, DrainLimit, cancellationToken);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
