using Snn.Server.Backends;
using Snn.Server.Engine;

namespace Snn.Server.Backends.Cpu;

/// <summary>
/// Fork-join over persistent worker threads, for splitting one large kernel call across cores
/// without allocating: the caller publishes a work item, releases the workers, runs part 0 itself
/// and waits until every part is done. One job at a time (the step loop is single-threaded).
/// </summary>
internal sealed class WorkerPool : IDisposable
{
    private readonly Thread[] _threads;
    private readonly SemaphoreSlim[] _start;
    // Parts still running; the worker that finishes the last one releases the caller. (A
    // CountdownEvent would allocate its lock lazily on the first wait that blocks.)
    private readonly SemaphoreSlim _finished = new(0, 1);
    private int _remaining;
    private IPartitionedWork? _work;
    private Exception? _error;
    private int _parts;
    private volatile bool _stopping;

    public WorkerPool(int workers)
    {
        Workers = Math.Max(0, workers);
        _threads = new Thread[Workers];
        _start = new SemaphoreSlim[Workers];
        for (int w = 0; w < Workers; w++)
        {
            _start[w] = new SemaphoreSlim(0, 1);
            int part = w + 1;
            _threads[w] = new Thread(() => Work(part)) { Name = $"snn-step-worker-{part}", IsBackground = true };
            _threads[w].Start();
        }
    }

    /// <summary>Threads besides the caller's.</summary>
    public int Workers { get; }

    /// <summary>SCHED_FIFO priority of the workers (0: ordinary threads); each applies a change when it next wakes.</summary>
    public int Priority
    {
        get => Volatile.Read(ref _priority);
        set => Volatile.Write(ref _priority, value);
    }

    private int _priority;

    /// <summary>Runs parts 0..parts-1 of <paramref name="work"/>, part 0 on the calling thread.</summary>
    public void Run(IPartitionedWork work, int parts)
    {
        parts = Math.Clamp(parts, 1, Workers + 1);
        if (parts == 1)
        {
            work.Execute(0, 1);
            return;
        }

        _work = work;
        _parts = parts;
        Volatile.Write(ref _remaining, parts - 1);
        for (int w = 0; w < parts - 1; w++)
        {
            _start[w].Release();
        }

        try
        {
            work.Execute(0, parts);
        }
        finally
        {
            _finished.Wait();
            _work = null;
        }

        if (Interlocked.Exchange(ref _error, null) is { } error)
        {
            throw new AggregateException("a step worker failed", error);
        }
    }

    private void Work(int part)
    {
        var start = _start[part - 1];
        int priority = 0;
        while (true)
        {
            start.Wait();
            if (_stopping)
            {
                return;
            }

            if (Priority != priority)
            {
                priority = Priority;
                _ = RealtimeScheduling.SetCurrentThread(priority);
            }

            try
            {
                _work!.Execute(part, _parts);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
            finally
            {
                if (Interlocked.Decrement(ref _remaining) == 0)
                {
                    _finished.Release();
                }
            }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        foreach (var s in _start)
        {
            s.Release();
        }

        foreach (var t in _threads)
        {
            t.Join(TimeSpan.FromSeconds(2));
        }
    }
}
