namespace Snn.FunctionalTests.Transport;

/// <summary>What the test service's handlers saw, for tests to await.</summary>
internal sealed class TransportObservations
{
    private readonly TaskCompletionSource _handlerStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _handlerCancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<long> _writeBlocked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _floodDone = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A blocking handler has started.</summary>
    public Task HandlerStarted => _handlerStarted.Task;

    /// <summary>A blocking handler saw its CancellationToken fire.</summary>
    public Task HandlerCancelled => _handlerCancelled.Task;

    /// <summary>Lets a handler that ignores cancellation finish.</summary>
    public Task Released => _release.Task;

    /// <summary>The first streamed write that had to wait (backpressure), with the bytes written before it.</summary>
    public Task<long> WriteBlocked => _writeBlocked.Task;

    /// <summary>The streaming handler wrote all its messages.</summary>
    public Task FloodDone => _floodDone.Task;

    public void Started() => _handlerStarted.TrySetResult();

    public void Cancelled() => _handlerCancelled.TrySetResult();

    public void Release() => _release.TrySetResult();

    public void Blocked(long bytesWrittenBefore) => _writeBlocked.TrySetResult(bytesWrittenBefore);

    public void Flooded() => _floodDone.TrySetResult();
}
