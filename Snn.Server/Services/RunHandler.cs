using System.Diagnostics;
using Grpc.Core;
using Snn.Protos.V1;
using Snn.Server.Engine;

namespace Snn.Server.Services;

/// <summary>
/// The Run stream: opens an instance as its driver, turns requests into engine commands and streams
/// step outputs back. The reading side and the single writer task run concurrently (full duplex):
/// outputs of earlier requests go out while later requests arrive. Refusals are thrown as
/// <see cref="EngineException"/>s and become statuses in Rpc/ErrorInterceptor.
/// </summary>
internal sealed class RunHandler(StepLoop loop, SnnService service)
{
    /// <summary>Most steps packed into one RunResponse.</summary>
    public const int MaxStepsPerResponse = 256;

    /// <summary>Approximate payload size after which a RunResponse is sent.</summary>
    public const int TargetResponseBytes = 512 << 10;

    /// <summary>
    /// Longest a LOCKSTEP driver's response waits for more steps of the advance being stepped (see
    /// <see cref="StepFrame.AdvanceGoesOn"/>); a response whose next step would come later goes out.
    /// </summary>
    public static readonly TimeSpan CoalesceWindow = TimeSpan.FromMilliseconds(1);

    public async Task Run(IAsyncStreamReader<RunRequest> requests, IServerStreamWriter<FrameBatch> responses, ServerCallContext context)
    {
        var callToken = context.CancellationToken;
        if (!await requests.MoveNext(callToken))
        {
            throw EngineException.Invalid("the stream ended before its first request; send a RunRequest with open first");
        }

        var first = requests.Current;
        if (first.Open is null)
        {
            throw EngineException.Invalid("the first RunRequest must carry open (network and instance to drive)");
        }

        var network = service.Find(context, first.Open.Network, "open.network");
        int instance = SnnService.CheckInstance(network, first.Open.Instance, "open.instance");
        var plan = BuildPlan(network, first.Open);
        long recordBytes = StepFrame.RecordBytes(plan);
        if (recordBytes + 1024 > service.MaxMessageBytes)
        {
            throw new EngineException(EngineError.ResourceExhausted,
                $"open.record asks for {recordBytes} bytes per step, more than the message limit of {service.MaxMessageBytes}; record fewer neurons or variables");
        }

        var statusInterval = StatusInterval(network, first.Open.StatusIntervalMs, "open.status_interval_ms");
        var stream = await loop.OpenAsync(network, instance, plan, first.Open.Reset, callToken);

        using var readCancel = CancellationTokenSource.CreateLinkedTokenSource(callToken);
        Task writer = Task.CompletedTask;
        try
        {
            var opened = new RunOpened
            {
                Network = Security.TenantScope.Unqualify(context, network.Name),
                Instance = (uint)stream.Instance.Index,
                Step = (ulong)stream.FirstStep,
            };
            opened.SpikePopulations.Add(stream.Plan.SpikePopulations.Select(i => network.Populations[i].Name));
            opened.Records.Add(first.Open.Record);
            var batch = new FrameBatch(stream.Plan);
            await responses.WriteAsync(batch.Control(new RunResponse { Opened = opened }), callToken);
            batch.Clear();

            writer = WriteFramesAsync(stream, batch, responses, statusInterval, callToken, readCancel);
            await SendAsync(stream, first, readCancel.Token);
            while (await requests.MoveNext(readCancel.Token))
            {
                var request = requests.Current;
                if (request.Open is not null)
                {
                    throw EngineException.Invalid("open is only allowed in the first RunRequest of a stream");
                }

                await SendAsync(stream, request, readCancel.Token);
            }

            await stream.CompleteAsync(readCancel.Token);
            await writer;
        }
        catch (OperationCanceledException) when (!callToken.IsCancellationRequested)
        {
            // Not the client: the writer failed (network deleted, server stopping) and cancelled the
            // reads. End the call with the writer's error, which it may still be raising.
            await writer;
            throw;
        }
        finally
        {
            await loop.CloseAsync(stream);
            readCancel.Cancel();
            try
            {
                await writer;
            }
            catch (Exception)
            {
                // Already reported through the call's status.
            }
        }
    }

    /// <summary>
    /// The single writer of a Run or Watch response stream: packs the frames that are ready into one
    /// RunResponse (up to <see cref="FrameSink.StepsPerResponse"/> steps or about <see cref="TargetResponseBytes"/>),
    /// encoded straight from the frames (<see cref="FrameBatch"/>), hands them back to the sink, and
    /// every <paramref name="statusInterval"/> sends a RunStatus. While a LOCKSTEP advance is being stepped
    /// it waits for the advance's next frames, as long as they are due within <paramref name="coalesceWindow"/>
    /// (<see cref="CoalesceWindow"/> unless given) of its wake-up.
    /// </summary>
    internal static async Task WriteFramesAsync(FrameSink sink, FrameBatch batch, IServerStreamWriter<FrameBatch> responses,
        TimeSpan statusInterval, CancellationToken cancellationToken, CancellationTokenSource? onFailure, TimeSpan? coalesceWindow = null)
    {
        double window = (coalesceWindow ?? CoalesceWindow).TotalSeconds;
        try
        {
            var reader = sink.Frames;
            using var timer = statusInterval > TimeSpan.Zero ? new PeriodicTimer(statusInterval) : null;
            Task<bool>? tick = timer?.WaitForNextTickAsync(cancellationToken).AsTask();
            Task<bool>? ready = null;
            int perResponse = sink.StepsPerResponse(MaxStepsPerResponse);
            while (true)
            {
                if (tick is null)
                {
                    if (!await reader.WaitToReadAsync(cancellationToken))
                    {
                        break;
                    }
                }
                else
                {
                    ready ??= reader.WaitToReadAsync(cancellationToken).AsTask();
                    if (await Task.WhenAny(ready, tick) == tick)
                    {
                        await tick;
                        await responses.WriteAsync(batch.Control(new RunResponse { Status = Status(sink) }), cancellationToken);
                        batch.Clear();
                        tick = timer!.WaitForNextTickAsync(cancellationToken).AsTask();
                        continue;
                    }

                    bool more = await ready;
                    ready = null;
                    if (!more)
                    {
                        break;
                    }
                }

                long first = Stopwatch.GetTimestamp();
                while (true)
                {
                    StepFrame? last = null;
                    while (batch.Count < perResponse && batch.Size < TargetResponseBytes && reader.TryRead(out var frame))
                    {
                        batch.Add(frame);
                        last = frame;
                    }

                    // A LOCKSTEP advance still being stepped: wait for its next frames while they are due
                    // within the window, so that a request's steps go out in one response instead of one
                    // per wake-up of this writer (each response costs both ends a message). The loop may
                    // be busy with other networks for one pass more.
                    if (last is not { AdvanceGoesOn: true } || batch.Count >= perResponse || batch.Size >= TargetResponseBytes
                        || Stopwatch.GetElapsedTime(first).TotalSeconds + sink.Network.StepSeconds > window
                        || !await reader.WaitToReadAsync(cancellationToken))
                    {
                        break;
                    }
                }

                try
                {
                    // No token: a write ends when the call does anyway, and grpc-dotnet registers a token per write.
                    await responses.WriteAsync(batch);
                }
                finally
                {
                    foreach (var frame in batch.Frames)
                    {
                        sink.Return(frame);
                    }

                    batch.Clear();
                }
            }

            await reader.Completion;
        }
        catch
        {
            onFailure?.Cancel();
            throw;
        }
    }

    internal static RunStatus Status(FrameSink sink)
    {
        var inst = sink.Instance;
        var status = new RunStatus
        {
            Step = (ulong)inst.Step,
            LateInputs = (ulong)inst.LateInputs,
            InputsTooEarly = (ulong)inst.InputsTooEarly,
            Dropped = (ulong)sink.Dropped,
        };
        if (sink.Network.Clock is { } clock)
        {
            status.Overruns = (ulong)clock.Overruns;
            status.LagUs = clock.StepLag.LastMicroseconds;
            status.MaxLagUs = clock.StepLag.MaxMicroseconds;
        }

        return status;
    }

    /// <summary>The longest status interval a stream may ask for: one day (a timer's period has a bound; 2^32-1 ms broke it).</summary>
    internal const uint MaxStatusIntervalMs = 86_400_000;

    internal static TimeSpan StatusInterval(Engine.Network network, uint requestedMs, string field) =>
        requestedMs > MaxStatusIntervalMs ? throw EngineException.Invalid($"{field} is {requestedMs}; it must be at most {MaxStatusIntervalMs} (one day), or 0 for the default")
        : requestedMs > 0 ? TimeSpan.FromMilliseconds(requestedMs)
        : network.Clock is not null ? TimeSpan.FromSeconds(1)
        : TimeSpan.Zero;

    private ValueTask SendAsync(RunStream stream, RunRequest request, CancellationToken cancellationToken)
    {
        if (request.Inputs.Count == 0 && request.Advance == 0)
        {
            return ValueTask.CompletedTask;
        }

        var network = stream.Network;
        if (network.Clock is not null && request.Advance != 0)
        {
            throw EngineException.Invalid(
                $"advance is {request.Advance}; a REALTIME network is advanced by its clock, so advance must be 0 (send inputs only)");
        }

        var inputs = new PendingInput[request.Inputs.Count];
        for (int k = 0; k < inputs.Length; k++)
        {
            inputs[k] = ToPendingInput(network, request.Inputs[k], $"inputs[{k}]", loop.Limits.MaxInputHorizon);
        }

        if (request.Advance > int.MaxValue)
        {
            throw EngineException.Invalid($"advance is {request.Advance}; at most {int.MaxValue} steps per request");
        }

        return stream.SendAsync(new RunCommand(inputs, (int)request.Advance), cancellationToken);
    }

    internal static PendingInput ToPendingInput(Engine.Network network, Input input, string field, int horizon)
    {
        var pop = network.FindPopulation(input.Population)
            ?? throw EngineException.NotFound($"{field}.population '{input.Population}' is not a population of network '{network.Name}'");
        if (input.Offset >= horizon)
        {
            throw EngineException.Invalid($"{field}.offset is {input.Offset}; inputs may name at most {horizon - 1} steps ahead");
        }

        if (input.HasStep && input.Offset != 0)
        {
            throw EngineException.Invalid($"{field} sets both offset and step; name the step one way");
        }

        float[]? current = null;
        int[]? indices = null;
        float[]? values = null;
        if (input.Current.Count > 0)
        {
            if (input.Indices.Count > 0)
            {
                throw EngineException.Invalid($"{field} sets both current and indices; send them as two inputs");
            }

            if (input.Current.Count != pop.Size)
            {
                throw EngineException.Invalid(
                    $"{field}.current has {input.Current.Count} values; population '{pop.Name}' has {pop.Size} neurons");
            }

            current = input.Current.ToArray();
            NetworkBuilder.CheckFinite(current, field + ".current");
        }
        else if (input.Indices.Count > 0)
        {
            indices = new int[input.Indices.Count];
            for (int i = 0; i < indices.Length; i++)
            {
                uint n = input.Indices[i];
                if (n >= pop.Size)
                {
                    throw EngineException.Invalid(
                        $"{field}.indices[{i}] = {n} is out of range; population '{pop.Name}' has {pop.Size} neurons (0..{pop.Size - 1})");
                }

                indices[i] = (int)n;
            }

            if (input.Values.Count > 0)
            {
                if (input.Values.Count != indices.Length)
                {
                    throw EngineException.Invalid(
                        $"{field}.values has {input.Values.Count} entries but indices has {indices.Length}; give one value per event or none");
                }

                values = input.Values.ToArray();
                NetworkBuilder.CheckFinite(values, field + ".values");
            }
        }
        else if (input.Values.Count > 0)
        {
            throw EngineException.Invalid($"{field}.values is set without indices");
        }

        return new PendingInput(pop.Index, (int)input.Offset, indices, values, current,
            input.HasStep ? (long)Math.Min(input.Step, long.MaxValue) : null);
    }

    internal static OutputPlan BuildPlan(Engine.Network network, RunOpen open) =>
        BuildPlan(network, open.SpikesFrom, open.Record, "open");

    internal static OutputPlan BuildPlan(Engine.Network network,
        IReadOnlyList<string> spikesFrom, IReadOnlyList<RecordSpec> recordSpecs, string prefix)
    {
        int[] spikes;
        if (spikesFrom.Count == 0)
        {
            spikes = network.Populations.Where(p => p.Model.Name != "input").Select(p => p.Index).ToArray();
        }
        else
        {
            spikes = new int[spikesFrom.Count];
            for (int i = 0; i < spikes.Length; i++)
            {
                spikes[i] = (network.FindPopulation(spikesFrom[i])
                    ?? throw EngineException.NotFound(
                        $"{prefix}.spikes_from[{i}] '{spikesFrom[i]}' is not a population of network '{network.Name}'")).Index;
            }
        }

        var records = new RecordPlan[recordSpecs.Count];
        for (int r = 0; r < records.Length; r++)
        {
            var spec = recordSpecs[r];
            string field = $"{prefix}.record[{r}]";
            var pop = network.FindPopulation(spec.Population)
                ?? throw EngineException.NotFound($"{field}.population '{spec.Population}' is not a population of network '{network.Name}'");
            var names = spec.Variables.Count == 1 && spec.Variables[0] == "*"
                ? pop.Model.StateVariables.ToArray()
                : spec.Variables.ToArray();
            var variables = new int[names.Length];
            for (int v = 0; v < names.Length; v++)
            {
                variables[v] = pop.VariableIndex(names[v]);
                if (variables[v] < 0)
                {
                    throw EngineException.Invalid(
                        $"{field}.variables[{v}] '{names[v]}' is not a state variable of model {pop.Model.Name}; it has: {(pop.Model.StateVariables.Count == 0 ? "none" : string.Join(", ", pop.Model.StateVariables))}");
                }
            }

            int[]? neurons = null;
            int start = 0, count = pop.Size;
            switch (spec.NeuronsCase)
            {
                case RecordSpec.NeuronsOneofCase.Indices:
                    neurons = new int[spec.Indices.Values.Count];
                    for (int k = 0; k < neurons.Length; k++)
                    {
                        uint n = spec.Indices.Values[k];
                        if (n >= pop.Size)
                        {
                            throw EngineException.Invalid($"{field}.indices.values[{k}] = {n} is out of range; population '{pop.Name}' has {pop.Size} neurons");
                        }

                        neurons[k] = (int)n;
                    }

                    break;
                case RecordSpec.NeuronsOneofCase.Range:
                    if (spec.Range.Start >= spec.Range.End || spec.Range.End > pop.Size)
                    {
                        throw EngineException.Invalid(
                            $"{field}.range [{spec.Range.Start}, {spec.Range.End}) is not a non-empty range within population '{pop.Name}' of {pop.Size} neurons");
                    }

                    start = (int)spec.Range.Start;
                    count = (int)(spec.Range.End - spec.Range.Start);
                    break;
            }

            records[r] = new RecordPlan(pop.Index, variables, names, neurons, start, count, (int)Math.Min(spec.Every, int.MaxValue));
        }

        return new OutputPlan(spikes, records);
    }
}
