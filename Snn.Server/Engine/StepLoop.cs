using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Snn.Server.Backends;
using Snn.Server.Models;
using Snn.Server.Observability;

namespace Snn.Server.Engine;

/// <summary>
/// The one owner of all network state. A dedicated thread drains the command inbox, takes the
/// requests of every driving stream, steps every due instance of every network (adjacent instances
/// in one kernel call per population) and hands the outputs to the streams. Everything else talks to
/// it through <see cref="InvokeAsync{T}"/> and <see cref="RunStream"/>.
/// </summary>
/// <remarks>
/// Scheduling: each pass of the loop steps every due instance of every network once, so networks
/// share the loop round-robin one step at a time; a huge network delays the others by its own step
/// time per pass, never by more than that. A LOCKSTEP instance is due while its driver has steps to
/// execute and room in its outbox.
/// <para>The class is split by responsibility: this file holds its state, construction and lifetime;
/// <c>StepLoop.Commands.cs</c> the command API other threads call; <c>StepLoop.Thread.cs</c> the thread,
/// its waits and scheduling class; <c>StepLoop.Scheduling.cs</c> what is due in a pass;
/// <c>StepLoop.Stepping.cs</c> input intake, the backend step and frame emission;
/// <c>StepLoop.Failures.cs</c> what a failing network does to its streams.</para>
/// </remarks>
internal sealed partial class StepLoop : IDisposable
{
    private readonly Channel<Action> _commands = Channel.CreateBounded<Action>(
        new BoundedChannelOptions(1024) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly ConcurrentDictionary<string, Network> _registry = new(StringComparer.Ordinal);

    private readonly List<Network> _networks = [];

    /// <summary>The state variables a step records, gathered for the backend (reused: no allocation a step).</summary>
    private readonly List<StateSlice> _recordedSlices = [];

    private readonly ManualResetEventSlim _wake = new(false);

    private readonly IComputeBackend _backend;

    private readonly ILogger<StepLoop> _logger;

    private readonly Thread _thread;

    private readonly SemaphoreSlim _setParameters = new(1, 1);

    private readonly RealtimeOptions _realtime;

    private volatile bool _stopping;

    private long _stepsExecuted;
    private long _chainedSteps;
    private long _steppingTicks;
    private long _waitingTicks;

    private long _lastPass = Stopwatch.GetTimestamp();

    /// <summary>REALTIME networks hosted, counted at each pass. Loop thread only.</summary>
    private int _realtimeNetworks;

    /// <summary>SCHED_FIFO priority the stepping threads have now (0: ordinary). Loop thread only.</summary>
    private int _priority;

    private bool _priorityRefused;

    public StepLoop(IComputeBackend backend, EngineLimits limits, RealtimeOptions realtime, ILogger<StepLoop> logger)
        : this(backend, limits, logger, startThread: true, realtime)
    {
    }

    /// <summary>The server's loop: its instruments come from the server's <see cref="SnnMetrics"/> (exported at /metrics).</summary>
    internal StepLoop(IComputeBackend backend, EngineLimits limits, RealtimeOptions realtime, SnnMetrics metrics, ILogger<StepLoop> logger)
        : this(backend, limits, logger, startThread: true, realtime, metrics)
    {
    }

    /// <summary>With <paramref name="startThread"/> false, the caller runs the loop by calling <see cref="RunPass"/> (tests, benchmarks).</summary>
    internal StepLoop(IComputeBackend backend, EngineLimits limits, ILogger<StepLoop> logger, bool startThread, RealtimeOptions? realtime = null,
        SnnMetrics? metrics = null)
    {
        _ownsMetrics = metrics is null;
        Metrics = metrics ?? new SnnMetrics();
        _backend = backend;
        Limits = limits;
        _realtime = realtime ?? new RealtimeOptions();
        _realtime.Validate();
        limits.Validate();
        _logger = logger;
        _thread = new Thread(Run) { Name = "snn-step-loop", IsBackground = true };
        if (startThread)
        {
            _thread.Start();
        }
    }

    public EngineLimits Limits { get; }

    /// <summary>The instruments the loop updates (no tags: nothing allocated per step).</summary>
    internal SnnMetrics Metrics { get; }

    private readonly bool _ownsMetrics;

    public IComputeBackend Backend => _backend;

    /// <summary>SCHED_FIFO priority the stepping threads run at now (0: ordinary threads).</summary>
    public int Priority => Volatile.Read(ref _priority);

    /// <summary>Instance-steps executed since start.</summary>
    public long StepsExecuted => Interlocked.Read(ref _stepsExecuted);

    /// <summary>Instance steps taken in LOCKSTEP chains of more than one step (see <see cref="ChainLength"/>).</summary>
    public long ChainedSteps => Interlocked.Read(ref _chainedSteps);

    /// <summary>
    /// Time the loop spent stepping networks since start (intake, the backend's steps, emission), and the part of it spent
    /// waiting for a device backend to finish queued steps: what is left is the host's share of a step (the device check
    /// prints both).
    /// </summary>
    public (TimeSpan Stepping, TimeSpan Waiting) SteppingTime =>
        (Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _steppingTicks)), Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _waitingTicks)));

    /// <summary>
    /// Whether the loop thread runs and has begun a pass within <paramref name="within"/> (an idle loop
    /// passes at least every 250 ms; a pass takes as long as one step of every due network).
    /// </summary>
    public bool IsTicking(TimeSpan within) =>
        _thread.IsAlive && !_stopping && Stopwatch.GetElapsedTime(Volatile.Read(ref _lastPass)) < within;

    /// <summary>Wakes the loop: new requests, commands or free outbox room.</summary>
    public void Wake() => _wake.Set();

    public void Dispose()
    {
        _stopping = true;
        _commands.Writer.TryComplete();
        _wake.Set();
        if (_thread.IsAlive)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }

        _releaseTimer?.Dispose();

        if (_ownsMetrics)
        {
            Metrics.Dispose();
        }
    }
}
