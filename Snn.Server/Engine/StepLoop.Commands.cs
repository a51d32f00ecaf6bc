using Snn.Server.Backends;
using Snn.Server.Models;

namespace Snn.Server.Engine;

/// <summary>
/// The command API: what other threads call. Each command runs on the loop thread between two steps
/// (through the bounded command channel); refusals are <see cref="EngineException"/>s.
/// </summary>
internal sealed partial class StepLoop
{
    /// <summary>Runs <paramref name="work"/> on the loop thread between two steps and returns its result.</summary>
    /// <summary>
    /// Runs <paramref name="work"/> on the loop thread between two steps. A caller cancelled before the loop takes
    /// the command gets cancellation and the work never runs. A caller cancelled after that still gets
    /// cancellation, but the work has run: <paramref name="abandon"/> then gives back what it took (a driver's
    /// instance, a watcher's subscription), so a client that hangs up mid-call leaves nothing held.
    /// </summary>
    public async Task<T> InvokeAsync<T>(Func<T> work, CancellationToken cancellationToken = default, Action<T>? abandon = null)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _commands.Writer.WriteAsync(() =>
        {
            if (cancellationToken.IsCancellationRequested)
            {
                tcs.TrySetCanceled(cancellationToken);
                return;
            }

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
        try
        {
            return await tcs.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (abandon is not null && cancellationToken.IsCancellationRequested)
        {
            _ = tcs.Task.ContinueWith(t => abandon(t.Result), CancellationToken.None,
                TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            throw;
        }
    }

    public bool TryGet(string name, out Network network) => _registry.TryGetValue(name, out network!);

    public IReadOnlyList<Network> Networks => _registry.Values.OrderBy(n => n.Name, StringComparer.Ordinal).ToList();

    /// <summary>
    /// Validates and builds a network off the loop, then hands it to the loop. Its bytes are charged
    /// against the memory budget before anything is allocated (see StepLoop.Memory.cs). <paramref name="admit"/>,
    /// when given, sees the built network before it joins and may refuse it by throwing (a caller's quota).
    /// </summary>
    public async Task<Network> CreateAsync(NetworkDefinition definition, CancellationToken cancellationToken = default,
        Action<Network>? admit = null)
    {
        long reserved = 0;
        Network network;
        try
        {
            network = NetworkBuilder.Build(definition, Limits, bytes =>
            {
                Reserve(definition.Name, bytes);
                reserved = bytes;
            });
        }
        catch
        {
            Release(reserved);
            throw;
        }

        Settle(network, reserved);
        bool added = false;
        try
        {
            admit?.Invoke(network);
            if (_registry.Count >= Limits.MaxNetworks)
            {
                throw new EngineException(EngineError.ResourceExhausted, $"the server holds {Limits.MaxNetworks} networks (Snn:Limits:MaxNetworks); delete one first");
            }

            if (!_registry.TryAdd(definition.Name, network))
            {
                throw new EngineException(EngineError.AlreadyExists, $"a network named '{definition.Name}' exists; choose another name or delete it first");
            }

            added = true;
            await InvokeAsync(() =>
            {
                _networks.Add(network);
                network.Clock?.Restart(); // the first tick is one period after the network joins the loop
                return true;
            }, cancellationToken, abandon: joined => { _ = InvokeAsync(() => _networks.Remove(network)); });
        }
        catch
        {
            if (added)
            {
                _registry.TryRemove(new KeyValuePair<string, Network>(definition.Name, network));
            }

            Discharge(network);
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

        try
        {
            await InvokeAsync(() =>
            {
                _networks.Remove(network);
                network.Deleted = true;
                _backend.Release(network);
                EndSinks(network, new EngineException(EngineError.Aborted, $"network '{name}' was deleted"));
                return true;
            }, cancellationToken);
        }
        finally
        {
            Discharge(network); // out of the registry: no request reaches it any more
        }

        if (network.Bytes >= ReleaseAfterDeleteBytes)
        {
            ReleaseFreedMemory();
        }
    }

    /// <summary>Networks at least this large hand their memory back to the OS when deleted (64 MiB).</summary>
    internal const long ReleaseAfterDeleteBytes = 64L << 20;

    /// <summary>Times a deletion asked the GC to hand freed memory back to the OS.</summary>
    public long MemoryReleases => Interlocked.Read(ref _memoryReleases);

    private long _memoryReleases;

    private Timer? _releaseTimer;

    /// <summary>
    /// The GC keeps the segments of a deleted network's large arrays for reuse, so a server that hosted a
    /// big network held its memory long after (30 create/delete cycles of 2 x 2^24 neurons: 995 MiB of
    /// working set with nothing hosted, 10 s later still 998 MiB). An aggressive, compacting full
    /// collection hands it back (99 MiB). It runs on a timer 200 ms after the last large deletion (so the
    /// deleting call has answered and let go of the network, and a burst of deletions costs one
    /// collection); it stops every thread for its duration (milliseconds with a small live heap), so a
    /// REALTIME tick may be late by that much.
    /// </summary>
    private void ReleaseFreedMemory()
    {
        Interlocked.Increment(ref _memoryReleases);
        var timer = LazyInitializer.EnsureInitialized(ref _releaseTimer,
            () => new Timer(static _ => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true)));
        timer.Change(TimeSpan.FromMilliseconds(200), Timeout.InfiniteTimeSpan);
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
        }, cancellationToken, abandon: stream => _ = CloseAsync(stream));
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
        }, cancellationToken, abandon: sink => _ = UnwatchAsync(sink));
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

                _backend.HostEdited(network, HostEdit.Parameters);
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
            // What it reads alone: a device backend copies back those variables of that instance, over those neurons.
            var (start, count) = RecordPlan.SpanOf(neurons, 0, population.Size);
            _backend.RefreshStates(network, count == 0 ? [] : variables.Select(v => new StateSlice(population.Index, v, instance, start, count)).ToArray());
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
        // The instance's host arrays are set whole: a device backend resets it alone, nothing read back.
        foreach (var p in network.Populations)
        {
            p.Reset(inst.Index);
        }

        _backend.InstanceReset(network, inst.Index);

        inst.ClearInputs();
        inst.Step = 0;
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
}
