using System.Collections.Concurrent;
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
    private volatile bool _stopping;
    private long _stepsExecuted;

    public StepLoop(IComputeBackend backend, EngineLimits limits, ILogger<StepLoop> logger)
    {
        _backend = backend;
        Limits = limits;
        _logger = logger;
        _thread = new Thread(Run) { Name = "snn-step-loop", IsBackground = true };
        _thread.Start();
    }

    public EngineLimits Limits { get; }

    public IComputeBackend Backend => _backend;

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
            foreach (var instance in network.Instances)
            {
                if (instance.Driver is { } driver)
                {
                    driver.EndFrames(new EngineException(EngineError.Aborted, $"network '{name}' was deleted"));
                    instance.Driver = null;
                    instance.SetDriven(false);
                }
            }

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

            stream.EndFrames();
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
                foreach (var (pop, kernel, merged) in kernels)
                {
                    pop.Kernel = kernel;
                    pop.Parameters = merged;
                }

                foreach (var (projection, prepared) in weights)
                {
                    projection.Install(prepared);
                }

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

    private static void ResetInstance(Network network, Instance inst)
    {
        foreach (var p in network.Populations)
        {
            p.Reset(inst.Index);
        }

        inst.ClearInputs();
        inst.Step = 0;
    }

    public void Dispose()
    {
        _stopping = true;
        _commands.Writer.TryComplete();
        _wake.Set();
        _thread.Join(TimeSpan.FromSeconds(5));
    }

    private void Run()
    {
        while (!_stopping)
        {
            _wake.Reset();
            bool worked = DrainCommands();
            foreach (var network in _networks)
            {
                try
                {
                    worked |= StepNetwork(network);
                }
                catch (Exception e)
                {
                    LogStepFailed(e, network.Name);
                    AbortStreams(network, e);
                }
            }

            if (!worked)
            {
                _wake.Wait(TimeSpan.FromMilliseconds(250));
            }
        }

        foreach (var network in _networks)
        {
            AbortStreams(network, new EngineException(EngineError.Aborted, "the server is shutting down"));
        }
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

    private static void AbortStreams(Network network, Exception error)
    {
        foreach (var inst in network.Instances)
        {
            if (inst.Driver is { } d)
            {
                d.EndFrames(error as EngineException ?? new EngineException(EngineError.Aborted, "stepping the network failed: " + error.Message));
                inst.Driver = null;
                inst.SetDriven(false);
            }
        }
    }

    /// <summary>Steps every due instance of <paramref name="network"/> once. Returns whether any was due.</summary>
    private bool StepNetwork(Network network)
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

        var dueSpan = dueList.AsSpan(0, due);
        foreach (int i in dueSpan)
        {
            PrepareInputs(network, network.Instances[i]);
        }

        _backend.Step(network, dueSpan);

        foreach (int i in dueSpan)
        {
            var inst = network.Instances[i];
            var driver = inst.Driver!;
            EmitFrame(network, inst, driver);
            inst.Step++;
            driver.Remaining--;
        }

        Interlocked.Add(ref _stepsExecuted, due);
        return true;
    }

    /// <summary>LOCKSTEP: due while the driver has steps left (taking its next request when idle) and outbox room.</summary>
    private static bool IsDue(Instance inst)
    {
        var driver = inst.Driver;
        if (driver is null || driver.Finished)
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
                driver.EndFrames();
                return false;
            }

            long first = inst.Step;
            foreach (var input in command.Inputs)
            {
                inst.Enqueue(input, first + input.Offset);
            }

            driver.Remaining = command.Advance;
        }

        return driver.CanEmit;
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
            }
        }

        for (var input = head; input is not null; input = input.Next)
        {
            if (input.Indices is { } indices)
            {
                var pop = network.Populations[input.Population];
                var x = pop.Slice(pop.Input, inst.Index);
                var values = input.Values;
                for (int k = 0; k < indices.Length; k++)
                {
                    x[indices[k]] += values is null ? 1f : values[k];
                }
            }
        }
    }

    private static void EmitFrame(Network network, Instance inst, RunStream driver)
    {
        var plan = driver.Plan;
        var frame = driver.RentFrame();
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

        driver.Emit(frame);
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Error, Message = "Stepping network {Network} failed; its streams were aborted")]
    private partial void LogStepFailed(Exception exception, string network);
}
