using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Snn.Server.Backends;
using Snn.Server.Models;

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
/// </remarks>
internal sealed partial class StepLoop : IDisposable
{
    private readonly Channel<Action> _commands = Channel.CreateBounded<Action>(
        new BoundedChannelOptions(1024) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly ConcurrentDictionary<string, Network> _registry = new(StringComparer.Ordinal);
    private readonly List<Network> _networks = [];
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly IComputeBackend _backend;
    private readonly ILogger<StepLoop> _logger;
    private readonly Thread _thread;
    private readonly SemaphoreSlim _setParameters = new(1, 1);
    private readonly RealtimeOptions _realtime;
    private volatile bool _stopping;
    private long _stepsExecuted;

    /// <summary>REALTIME networks hosted, counted at each pass. Loop thread only.</summary>
    private int _realtimeNetworks;

    /// <summary>SCHED_FIFO priority the stepping threads have now (0: ordinary). Loop thread only.</summary>
    private int _priority;

    private bool _priorityRefused;

    public StepLoop(IComputeBackend backend, EngineLimits limits, RealtimeOptions realtime, ILogger<StepLoop> logger)
        : this(backend, limits, logger, startThread: true, realtime)
    {
    }

    /// <summary>With <paramref name="startThread"/> false, the caller runs the loop by calling <see cref="RunPass"/> (tests, benchmarks).</summary>
    internal StepLoop(IComputeBackend backend, EngineLimits limits, ILogger<StepLoop> logger, bool startThread, RealtimeOptions? realtime = null)
    {
        _backend = backend;
        Limits = limits;
        _realtime = realtime ?? new RealtimeOptions();
        _realtime.Validate();
        _logger = logger;
        _thread = new Thread(Run) { Name = "snn-step-loop", IsBackground = true };
        if (startThread)
        {
            _thread.Start();
        }
    }

    public EngineLimits Limits { get; }

    public IComputeBackend Backend => _backend;

    /// <summary>SCHED_FIFO priority the stepping threads run at now (0: ordinary threads).</summary>
    public int Priority => Volatile.Read(ref _priority);

    /// <summary>Instance-steps executed since start.</summary>
    public long StepsExecuted => Interlocked.Read(ref _stepsExecuted);

    /// <summary>Wakes the loop: new requests, commands or free outbox room.</summary>
    public void Wake() => _wake.Set();

    /// <summary>Runs <paramref name="work"/> on the loop thread between two steps and returns its result.</summary>
    public async Task<T> InvokeAsync<T>(Func<T> work, CancellationToken cancellationToken = default)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _commands.Writer.WriteAsync(() =>
        {
            try
            {
                tcs.TrySetResult(work());
            }
            catch (Exception e)
            {
                tcs.TrySetException(e);
            }
        }, cancellationToken);
        _wake.Set();
        return await tcs.Task.WaitAsync(cancellationToken);
    }

    public bool TryGet(string name, out Network network) => _registry.TryGetValue(name, out network!);

    public IReadOnlyList<Network> Networks => _registry.Values.OrderBy(n => n.Name, StringComparer.Ordinal).ToList();

    /// <summary>Validates and builds a network off the loop, then hands it to the loop.</summary>
    public async Task<Network> CreateAsync(NetworkDefinition definition, CancellationToken cancellationToken = default)
    {
        var network = NetworkBuilder.Build(definition, Limits);
        if (_registry.Count >= Limits.MaxNetworks)
        {
            throw new EngineException(EngineError.ResourceExhausted, $"the server holds {Limits.MaxNetworks} networks (limit); delete one first");
        }

        if (!_registry.TryAdd(definition.Name, network))
        {
            throw new EngineException(EngineError.AlreadyExists, $"a network named '{definition.Name}' exists; choose another name or delete it first");
        }

        try
        {
            await InvokeAsync(() =>
            {
                _networks.Add(network);
                network.Clock?.Restart(); // the first tick is one period after the network joins the loop
                return true;
            }, cancellationToken);
        }
        catch
        {
            _registry.TryRemove(new KeyValuePair<string, Network>(definition.Name, network));
            throw;
        }

        return network;
    }

    public async Task DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!_registry.TryRemove(name, out var network))
        {
            throw EngineException.NotFound($"network '{name}' does not exist");
        }

        await InvokeAsync(() =>
        {
            _networks.Remove(network);
            network.Deleted = true;
            _backend.Release(network);
            EndSinks(network, new EngineException(EngineError.Aborted, $"network '{name}' was deleted"));
            return true;
        }, cancellationToken);
    }

    /// <summary>Attaches a driver to an instance; ALREADY_EXISTS if it has one.</summary>
    public Task<RunStream> OpenAsync(Network network, int instance, OutputPlan plan, bool reset, CancellationToken cancellationToken)
    {
        return InvokeAsync(() =>
        {
            if (network.Deleted)
            {
                throw EngineException.NotFound($"network '{network.Name}' does not exist");
            }

            var inst = network.Instances[instance];
            if (inst.Driver is not null)
            {
                throw new EngineException(EngineError.AlreadyExists,
                    $"instance {instance} of network '{network.Name}' already has a driver; close that stream or use another instance");
            }

            if (reset)
            {
                ResetInstance(network, inst);
            }

            var stream = new RunStream(this, network, inst, plan);
            inst.Driver = stream;
            inst.SetDriven(true);
            return stream;
        }, cancellationToken);
    }

    /// <summary>Detaches a driver (its unexecuted requests are dropped). Safe to call more than once.</summary>
    public Task CloseAsync(RunStream stream)
    {
        return InvokeAsync(() =>
        {
            if (stream.Instance.Driver == stream)
            {
                stream.Instance.Driver = null;
                stream.Instance.SetDriven(false);
                stream.Instance.ClearInputs();
            }

            stream.End();
            return true;
        });
    }

    /// <summary>Subscribes a watcher to an instance's outputs.</summary>
    public Task<FrameSink> WatchAsync(Network network, int instance, OutputPlan plan, bool lossy, int frames, CancellationToken cancellationToken)
    {
        return InvokeAsync(() =>
        {
            if (network.Deleted)
            {
                throw EngineException.NotFound($"network '{network.Name}' does not exist");
            }

            var inst = network.Instances[instance];
            var sink = new FrameSink(this, network, inst, plan, lossy, frames);
            inst.Watchers.Add(sink);
            inst.SetWatcherCount();
            return sink;
        }, cancellationToken);
    }

    /// <summary>Ends a watcher's subscription. Safe to call more than once.</summary>
    public Task UnwatchAsync(FrameSink sink)
    {
        return InvokeAsync(() =>
        {
            sink.Instance.Watchers.Remove(sink);
            sink.Instance.SetWatcherCount();
            sink.End();
            return true;
        });
    }

    /// <summary>Resets one instance or all to the models' initial state at step 0.</summary>
    public Task ResetAsync(Network network, int? instance, CancellationToken cancellationToken)
    {
        return InvokeAsync(() =>
        {
            foreach (var inst in network.Instances)
            {
                if (instance is null || inst.Index == instance)
                {
                    ResetInstance(network, inst);
                }
            }

            if (instance is null)
            {
                network.Clock?.Restart();
            }

            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Changes population parameters and projection weights, all or nothing: everything is validated
    /// and compiled off the loop, then installed between two steps. Returns instance 0's next step,
    /// the first one that uses the change.
    /// </summary>
    public async Task<long> SetParametersAsync(Network network,
        IReadOnlyList<(string Population, IReadOnlyDictionary<string, ParamValue> Parameters)> populations,
        IReadOnlyList<(string Projection, float[]? Weights, float[]? Bias)> projections,
        CancellationToken cancellationToken)
    {
        await _setParameters.WaitAsync(cancellationToken);
        try
        {
            var kernels = new List<(Population, NeuronKernel, IReadOnlyDictionary<string, ParamValue>)>();
            for (int i = 0; i < populations.Count; i++)
            {
                var (name, changes) = populations[i];
                string field = $"populations[{i}]";
                var pop = network.FindPopulation(name)
                    ?? throw EngineException.NotFound($"{field}.population '{name}' is not a population of network '{network.Name}'");
                var merged = new Dictionary<string, ParamValue>(pop.Parameters, StringComparer.Ordinal);
                foreach (var (k, v) in changes)
                {
                    merged[k] = v;
                }

                var kernel = NetworkBuilder.Compile(pop.Model, merged, pop.Size, network.Definition.Dt, field);
                kernels.Add((pop, kernel, merged));
            }

            var weights = new List<(Projection, PreparedWeights)>();
            for (int i = 0; i < projections.Count; i++)
            {
                var (name, w, b) = projections[i];
                string field = $"projections[{i}]";
                var projection = network.FindProjection(name)
                    ?? throw EngineException.NotFound($"{field}.projection '{name}' is not a projection of network '{network.Name}'");
                weights.Add((projection, projection.PrepareWeights(w, b, field)));
            }

            return await InvokeAsync(() =>
            {
                _backend.RefreshHost(network);
                foreach (var (pop, kernel, merged) in kernels)
                {
                    pop.Kernel = kernel;
                    pop.Parameters = merged;
                }

                foreach (var (projection, prepared) in weights)
                {
                    projection.Install(prepared);
                }

                _backend.HostEdited(network);
                return network.Instances[0].Step;
            }, cancellationToken);
        }
        finally
        {
            _setParameters.Release();
        }
    }

    /// <summary>Copies state variables of some neurons of one instance, between two steps.</summary>
    public Task<(long Step, float[][] Values)> GetStateAsync(Network network, int instance, Population population,
        int[] variables, int[]? neurons, CancellationToken cancellationToken)
    {
        return InvokeAsync(() =>
        {
            _backend.RefreshHost(network);
            var values = new float[variables.Length][];
            int baseIndex = instance * population.Size;
            for (int v = 0; v < variables.Length; v++)
            {
                var state = population.State[variables[v]];
                if (neurons is null)
                {
                    values[v] = state.AsSpan(baseIndex, population.Size).ToArray();
                }
                else
                {
                    var dst = new float[neurons.Length];
                    for (int k = 0; k < neurons.Length; k++)
                    {
                        dst[k] = state[baseIndex + neurons[k]];
                    }

                    values[v] = dst;
                }
            }

            return (network.Instances[instance].Step, values);
        }, cancellationToken);
    }

    private void ResetInstance(Network network, Instance inst)
    {
        _backend.RefreshHost(network);
        foreach (var p in network.Populations)
        {
            p.Reset(inst.Index);
        }

        _backend.HostEdited(network);

        inst.ClearInputs();
        inst.Step = 0;
    }

    public void Dispose()
    {
        _stopping = true;
        _commands.Writer.TryComplete();
        _wake.Set();
        if (_thread.IsAlive)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }
    }

    private void Run()
    {
        PreciseSleep.TightenTimerSlack();
        while (!_stopping)
        {
            _wake.Reset();
            if (!RunPass(out long earliest))
            {
                WaitForWork(earliest);
            }
        }

        foreach (var network in _networks)
        {
            EndSinks(network, new EngineException(EngineError.Aborted, "the server is shutting down"));
        }
    }

    /// <summary>
    /// Sleeps until new work arrives or the next REALTIME tick is due. Long waits block on the wake
    /// event (whole milliseconds); under two milliseconds the loop sleeps in short precise slices,
    /// checking for new work between them, and spins only the last few tens of microseconds, so a
    /// tick starts within microseconds of its time without burning a core between ticks.
    /// </summary>
    private void WaitForWork(long deadline)
    {
        if (deadline == long.MaxValue)
        {
            _wake.Wait(TimeSpan.FromMilliseconds(250));
            return;
        }

        while (!_wake.IsSet)
        {
            long remaining = deadline - Stopwatch.GetTimestamp();
            // Leave room for a sleep to overrun (tens of microseconds) before the spin window starts.
            long sliceTicks = Math.Min(remaining - SpinWindow - SleepOverrun, SleepSlice);
            if (sliceTicks <= 0)
            {
                while (Stopwatch.GetTimestamp() < deadline && !_wake.IsSet)
                {
                    Thread.SpinWait(8);
                }

                return;
            }

            if (remaining > 2 * Stopwatch.Frequency / 1000)
            {
                _wake.Wait((int)((remaining - Stopwatch.Frequency / 1000) * 1000 / Stopwatch.Frequency));
                return;
            }

            PreciseSleep.Sleep(sliceTicks * 1_000_000_000 / Stopwatch.Frequency);
        }
    }

    /// <summary>The last stretch before a tick that the loop spins: 100 µs.</summary>
    private static readonly long SpinWindow = Stopwatch.Frequency * 100 / 1_000_000;

    /// <summary>How much a sleep may overrun (p99 measured with 1 ns timer slack: about 60 µs).</summary>
    private static readonly long SleepOverrun = Stopwatch.Frequency * 60 / 1_000_000;

    /// <summary>Longest precise sleep between checks for new work: 200 µs.</summary>
    private static readonly long SleepSlice = Stopwatch.Frequency * 200 / 1_000_000;

    /// <summary>
    /// One pass of the loop: runs the queued commands, steps every REALTIME network whose tick is
    /// due (first: they are time-critical), then one step of every due LOCKSTEP instance. Returns
    /// whether anything was done, and the time of the earliest next REALTIME tick.
    /// </summary>
    internal bool RunPass(out long earliestTick)
    {
        bool worked = DrainCommands();
        earliestTick = long.MaxValue;
        int dueRealtime = 0;
        int realtimeNetworks = 0;
        long now = Stopwatch.GetTimestamp();
        foreach (var network in _networks)
        {
            if (network.Clock is { } clock)
            {
                realtimeNetworks++;
                if (now >= clock.Next)
                {
                    if (dueRealtime == _dueRealtime.Length)
                    {
                        Array.Resize(ref _dueRealtime, dueRealtime * 2);
                    }

                    _dueRealtime[dueRealtime++] = network;
                }
                else
                {
                    earliestTick = Math.Min(earliestTick, clock.Next);
                }
            }
        }

        if (realtimeNetworks != _realtimeNetworks)
        {
            _realtimeNetworks = realtimeNetworks;
            UpdateScheduling();
        }

        if (dueRealtime > 0)
        {
            // Networks whose tick has come, one after another on this thread, before any LOCKSTEP work.
            // (Measured on the 2-vCPU machine: stepping them side by side, with the helper pinned to the
            // other CPU and woken just before the tick, split the work 55/45 but made the tail far
            // worse, p99 over 20 ms: a tick then waits for both vCPUs, and a perf sched trace showed
            // the helper taking 17 ms for its half now and then.)
            long tickStarted = Stopwatch.GetTimestamp();
            long instances = 0;
            for (int i = 0; i < dueRealtime; i++)
            {
                var network = _dueRealtime[i];
                try
                {
                    StepRealtime(network, tickStarted, Stopwatch.GetTimestamp());
                }
                catch (Exception e)
                {
                    Fail(network, e);
                }

                instances += network.Instances.Length;
                earliestTick = Math.Min(earliestTick, network.Clock!.Next);
            }

            Interlocked.Add(ref _stepsExecuted, instances);
            Array.Clear(_dueRealtime, 0, dueRealtime);
            worked = true;
        }

        foreach (var network in _networks)
        {
            if (network.Clock is null)
            {
                try
                {
                    worked |= StepLockstep(network);
                }
                catch (Exception e)
                {
                    Fail(network, e);
                }
            }
        }

        return worked;
    }

    /// <summary>REALTIME networks due this pass. Loop thread only.</summary>
    private Network[] _dueRealtime = new Network[16];

    /// <summary>
    /// Realtime scheduling for the stepping threads while REALTIME networks are hosted, ordinary
    /// scheduling otherwise. Only on the loop's own thread (a test that calls RunPass keeps its thread as it is).
    /// </summary>
    private void UpdateScheduling()
    {
        int wanted = _realtimeNetworks > 0 ? _realtime.Priority : 0;
        if (wanted == _priority || Thread.CurrentThread != _thread || _priorityRefused)
        {
            return;
        }

        int errno = RealtimeScheduling.SetCurrentThread(wanted);
        if (errno != 0)
        {
            _priorityRefused = true;
            LogPriorityRefused(wanted, RealtimeScheduling.Describe(errno));
            return;
        }

        Volatile.Write(ref _priority, wanted);
        _backend.SetRealtimePriority(wanted);
    }

    /// <summary>A network whose step threw: its streams end with the error; the loop and other networks go on.</summary>
    private void Fail(Network network, Exception e)
    {
        LogStepFailed(e, network.Name);
        EndSinks(network, e as EngineException ?? new EngineException(EngineError.Aborted, "stepping the network failed: " + e.Message));
    }

    private bool DrainCommands()
    {
        bool any = false;
        while (_commands.Reader.TryRead(out var command))
        {
            command();
            any = true;
        }

        return any;
    }

    /// <summary>Ends every driver and watcher of a network with <paramref name="error"/>.</summary>
    private static void EndSinks(Network network, EngineException error)
    {
        foreach (var inst in network.Instances)
        {
            if (inst.Driver is { } d)
            {
                d.End(error);
                inst.Driver = null;
                inst.SetDriven(false);
            }

            foreach (var w in inst.Watchers)
            {
                w.End(error);
            }

            inst.Watchers.Clear();
            inst.SetWatcherCount();
        }
    }

    /// <summary>LOCKSTEP: steps every due instance once. Returns whether any was due.</summary>
    private bool StepLockstep(Network network)
    {
        int due = 0;
        var dueList = network.Due;
        foreach (var inst in network.Instances)
        {
            if (IsDue(inst))
            {
                dueList[due++] = inst.Index;
            }
        }

        if (due == 0)
        {
            return false;
        }

        StepInstances(network, dueList.AsSpan(0, due));
        Interlocked.Add(ref _stepsExecuted, due);
        foreach (int i in dueList.AsSpan(0, due))
        {
            network.Instances[i].Driver!.Remaining--;
        }

        return true;
    }

    /// <summary>REALTIME: every instance steps at every tick; drivers' requests only bring inputs.</summary>
    private void StepRealtime(Network network, long tickStarted, long started)
    {
        var all = network.Due;
        foreach (var inst in network.Instances)
        {
            all[inst.Index] = inst.Index;
            if (inst.Driver is { Ended: false } driver)
            {
                while (driver.CommandReader.TryRead(out var command))
                {
                    if (ReferenceEquals(command, RunStream.EndOfRequests))
                    {
                        driver.End();
                        break;
                    }

                    foreach (var input in command.Inputs)
                    {
                        inst.Place(input);
                    }
                }
            }
        }

        StepInstances(network, all.AsSpan(0, network.Instances.Length));
        network.Clock!.Completed(tickStarted, started, Stopwatch.GetTimestamp());
    }

    /// <summary>Adds the due instances' external inputs, steps them, and hands out their outputs.</summary>
    private void StepInstances(Network network, ReadOnlySpan<int> due)
    {
        foreach (int i in due)
        {
            PrepareInputs(network, network.Instances[i]);
        }

        _backend.Step(network, due);
        if (RecordsDue(network, due))
        {
            _backend.RefreshHost(network);
        }

        foreach (int i in due)
        {
            var inst = network.Instances[i];
            if (inst.Driver is { Ended: false } driver)
            {
                Deliver(network, inst, driver);
            }

            var watchers = inst.Watchers;
            for (int w = watchers.Count - 1; w >= 0; w--)
            {
                if (!Deliver(network, inst, watchers[w]))
                {
                    watchers.RemoveAt(w);
                    inst.SetWatcherCount();
                }
            }

            inst.Step++;
        }
    }

    /// <summary>Whether a sink of a due instance records state at this step (a device backend then copies state back).</summary>
    private static bool RecordsDue(Network network, ReadOnlySpan<int> due)
    {
        foreach (int i in due)
        {
            var inst = network.Instances[i];
            if (inst.Driver is { Ended: false } driver && RecordsDue(driver.Plan, inst.Step))
            {
                return true;
            }

            foreach (var watcher in inst.Watchers)
            {
                if (RecordsDue(watcher.Plan, inst.Step))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool RecordsDue(OutputPlan plan, long step)
    {
        foreach (var rec in plan.Records)
        {
            if (rec.IsDue(step))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Emits this step's frame to one sink, applying its policy when it is full: lossy sinks drop
    /// their oldest frame, others are cut off. Returns false when the sink was cut off.
    /// </summary>
    private static bool Deliver(Network network, Instance inst, FrameSink sink)
    {
        if (!sink.HasRoom)
        {
            if (!sink.Lossy)
            {
                sink.End(new EngineException(EngineError.ResourceExhausted,
                    $"this watcher fell {sink.Capacity} steps behind instance {inst.Index} of network '{network.Name}' and was cut off; read faster, or watch with lossy delivery"));
                return false;
            }

            sink.DropOldest();
        }

        EmitFrame(network, inst, sink);
        return true;
    }

    /// <summary>LOCKSTEP: due while the driver has steps left (taking its next request when idle) and room for the output.</summary>
    private static bool IsDue(Instance inst)
    {
        var driver = inst.Driver;
        if (driver is null || driver.Ended)
        {
            return false;
        }

        while (driver.Remaining == 0)
        {
            if (!driver.CommandReader.TryRead(out var command))
            {
                return false;
            }

            if (ReferenceEquals(command, RunStream.EndOfRequests))
            {
                driver.End();
                return false;
            }

            foreach (var input in command.Inputs)
            {
                inst.Place(input);
            }

            driver.Remaining = command.Advance;
        }

        return driver.HasRoom;
    }

    /// <summary>Clears the instance's input buffers and adds the external inputs queued for this step.</summary>
    private static void PrepareInputs(Network network, Instance inst)
    {
        foreach (var p in network.Populations)
        {
            p.Slice(p.Input, inst.Index).Clear();
            if (p.RecurrentInput.Length > 0)
            {
                p.Slice(p.RecurrentInput, inst.Index).Clear();
            }
        }

        var head = inst.TakeCurrentInputs();
        if (head is null)
        {
            return;
        }

        // Dense currents first, then events, each in arrival order.
        for (var input = head; input is not null; input = input.Next)
        {
            if (input.Current is { } current)
            {
                var pop = network.Populations[input.Population];
                DenseProjection.Add(current, pop.Slice(pop.Input, inst.Index));
                pop.MarkExternalInput(inst.Index);
            }
        }

        for (var input = head; input is not null; input = input.Next)
        {
            if (input.Indices is { } indices)
            {
                var pop = network.Populations[input.Population];
                pop.MarkExternalInput(inst.Index);
                var x = pop.Slice(pop.Input, inst.Index);
                var values = input.Values;
                for (int k = 0; k < indices.Length; k++)
                {
                    x[indices[k]] += values is null ? 1f : values[k];
                }
            }
        }
    }

    private static void EmitFrame(Network network, Instance inst, FrameSink sink)
    {
        var plan = sink.Plan;
        var frame = sink.Rent();
        frame.Step = inst.Step;
        for (int s = 0; s < plan.SpikePopulations.Length; s++)
        {
            var pop = network.Populations[plan.SpikePopulations[s]];
            var spikes = pop.Slice(pop.Spikes, inst.Index);
            int count = 0;
            bool allOnes = true;
            for (int n = 0; n < spikes.Length; n++)
            {
                float v = spikes[n];
                if (v != 0f)
                {
                    if (count == frame.SpikeIndices[s].Length)
                    {
                        frame.GrowSpikes(s, spikes.Length);
                    }

                    frame.SpikeIndices[s][count] = n;
                    frame.SpikeValues[s][count] = v;
                    allOnes &= v == 1f;
                    count++;
                }
            }

            frame.SpikeCounts[s] = count;
            frame.AllOnes[s] = allOnes;
        }

        for (int r = 0; r < plan.Records.Length; r++)
        {
            var rec = plan.Records[r];
            bool take = rec.IsDue(inst.Step);
            frame.Recorded[r] = take;
            if (!take)
            {
                continue;
            }

            var pop = network.Populations[rec.Population];
            var dst = frame.RecordValues[r];
            int k = 0;
            int baseIndex = inst.Index * pop.Size;
            foreach (int v in rec.Variables)
            {
                var state = pop.State[v];
                if (rec.Neurons is { } neurons)
                {
                    foreach (int n in neurons)
                    {
                        dst[k++] = state[baseIndex + n];
                    }
                }
                else
                {
                    state.AsSpan(baseIndex + rec.RangeStart, rec.RangeCount).CopyTo(dst.AsSpan(k));
                    k += rec.RangeCount;
                }
            }
        }

        sink.Emit(frame);
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Error, Message = "Stepping network {Network} failed; its streams were aborted")]
    private partial void LogStepFailed(Exception exception, string network);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning,
        Message = "REALTIME networks run on ordinary threads: SCHED_FIFO priority {Priority} was refused ({Reason}); ticks may be late under load. Set Snn:Realtime:Priority to 0 to not ask")]
    private partial void LogPriorityRefused(int priority, string reason);
}
