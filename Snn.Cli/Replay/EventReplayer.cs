using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Snn.Client;
using Snn.Client.Events;
using Snn.Protos.V1;

namespace Snn.Cli.Replay;

/// <summary>How replayed steps are timed.</summary>
internal enum ReplayPacing
{
    /// <summary>LOCKSTEP network, as fast as the server steps: each request carries its steps' events and advances over them.</summary>
    Lockstep,

    /// <summary>LOCKSTEP network advanced in wall-clock time: the request for step s is sent s × dt after the start.</summary>
    PacedLockstep,

    /// <summary>REALTIME network: its clock advances it; the events of step s are sent a little before their tick, at absolute steps.</summary>
    Realtime,
}

/// <summary>What a replay did.</summary>
internal sealed record ReplaySummary(
    long EventsRead, long EventsSent, long Skipped, long Reordered, long Steps, long Requests, double Seconds, long OutputSpikes)
{
    public double EventsPerSecond => Seconds > 0 ? EventsRead / Seconds : 0;
}

/// <summary>The settings of one replay (see <c>snn replay</c>).</summary>
/// <param name="DtSeconds">Recording time per step (the bin width).</param>
internal sealed record ReplayPlan(string Population, PixelMap Map, double DtSeconds, ReplayPacing Pacing, bool Strict, uint InputHorizon)
{
    /// <summary>
    /// Wall-clock seconds per step when paced: a REALTIME network's tick period (its dt), which differs
    /// from <see cref="DtSeconds"/> when the bins are chosen with --dt. Defaults to <see cref="DtSeconds"/>.
    /// </summary>
    public double? WallStepSeconds { get; init; }

    /// <summary>
    /// REALTIME: how far ahead of its tick each step's events are sent, in seconds (at least 2 ticks). A longer lead
    /// absorbs longer stalls of the sender or the network on the way, at that much more latency.
    /// </summary>
    public double LeadSeconds { get; init; } = DefaultLeadSeconds;

    /// <summary>The default of <see cref="LeadSeconds"/>: 20 ms.</summary>
    public const double DefaultLeadSeconds = 0.02;

    /// <summary>REALTIME: <see cref="LeadSeconds"/> in ticks of <paramref name="wallStep"/> seconds (at least 2).</summary>
    public static long LeadSteps(double leadSeconds, double wallStep) => Math.Max(2, (long)Math.Ceiling(leadSeconds / wallStep - 1e-9));


    /// <summary>Most events in one RunRequest (≈ 150 KB encoded, well under the 4 MiB message limit).</summary>
    public int MaxEventsPerRequest { get; init; } = 50_000;

    /// <summary>LOCKSTEP: requests in flight before the sender waits for their steps to come back.</summary>
    public int Window { get; init; } = 4;
}

/// <summary>
/// Streams a recording through an open Run stream: reads batches of events, maps each to a neuron
/// (<see cref="PixelMap"/>), bins timestamps into steps of dt from the first event's time (step 0), and
/// sends each step's neurons as one sparse <see cref="Input"/>; a RunRequest carries up to
/// <see cref="ReplayPlan.MaxEventsPerRequest"/> events over at most the input horizon of steps. A
/// reader task takes the step outputs back concurrently and counts their spikes. Events whose time is
/// earlier than the step being filled (out of order) go to that step and are counted as reordered.
/// </summary>
internal sealed class EventReplayer
{
    private const int ReadBatch = 8192;

    private readonly RunSession _run;
    private readonly ReplayPlan _plan;
    private readonly double _stepsPerMicrosecond;
    private readonly long _chunkSteps;
    private readonly long _lead;
    private readonly double _wallStep;
    private readonly Stopwatch _sinceOpen = Stopwatch.StartNew();
    private ulong _base;
    private readonly SemaphoreSlim _window;
    private readonly ConcurrentQueue<long> _awaitedSteps = new();
    private readonly Stopwatch _clock = new();
    private readonly CancellationTokenSource _readerFailed = new();

    private RunRequest _request = new();
    private long _requestFirst;
    private int _requestEvents;
    private long _requests;
    private long _stepsSent;
    private long _stepsReturned;
    private long _lastStepNumber = -1;
    private long _outputSpikes;

    public EventReplayer(RunSession run, ReplayPlan plan)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(plan);
        _run = run;
        _plan = plan;
        _stepsPerMicrosecond = 1e-6 / plan.DtSeconds;
        _window = new SemaphoreSlim(plan.Window, plan.Window);
        long horizon = Math.Max(2, plan.InputHorizon);
        if (plan.Pacing == ReplayPacing.Lockstep)
        {
            _chunkSteps = horizon; // offsets 0 .. horizon-1
        }
        else
        {
            // Paced: requests of about 10 ms of steps; REALTIME inputs are sent `lead` steps before their tick.
            _wallStep = plan.WallStepSeconds ?? plan.DtSeconds;
            _chunkSteps = Math.Clamp((long)Math.Round(0.01 / _wallStep), 1, horizon / 2);
            _lead = plan.Pacing == ReplayPacing.Realtime ? ReplayPlan.LeadSteps(plan.LeadSeconds, _wallStep) : 0;
            if (_lead + _chunkSteps >= horizon)
            {
                throw new CliException(string.Create(CultureInfo.InvariantCulture, $"--lead {plan.LeadSeconds * 1000:0.###} ms is {_lead} ticks of {_wallStep * 1000:0.###} ms, but the server takes inputs at most {horizon} steps ahead (Snn:Limits:MaxInputHorizon) and a request spans {_chunkSteps}: use a lead under {(horizon - _chunkSteps) * _wallStep * 1000:0.###} ms"));
            }
        }
    }

    public async Task<ReplaySummary> ReplayAsync(EventReader reader, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        using var stopReader = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _clock.Start();
        var readerTask = Task.Run(() => ReadOutputsAsync(stopReader.Token), CancellationToken.None);
        long eventsRead = 0, sent = 0, skipped = 0, reordered = 0;
        long currentStep = -1;
        long origin = -1;
        Input? current = null;
        var batch = new PolarityEvent[ReadBatch];
        using var sending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _readerFailed.Token);
        cancellationToken = sending.Token;
        try
        {
            int n;
            while ((n = reader.Read(batch)) > 0)
            {
                for (int k = 0; k < n; k++)
                {
                    var e = batch[k];
                    int index = _plan.Map.Map(e);
                    if (index < 0)
                    {
                        if (_plan.Strict)
                        {
                            throw new CliException($"event {eventsRead + k} (x {e.X}, y {e.Y}, polarity {e.Polarity}, t {e.TimestampUs} µs) lies outside the {_plan.Map.Geometry} population '{_plan.Population}' after crop and downsampling (--strict)");
                        }

                        skipped++;
                        continue;
                    }

                    if (origin < 0)
                    {
                        // Step 0 starts now: a live pipe's first event may come long after the stream opened.
                        origin = e.TimestampUs;
                        if (_plan.Pacing == ReplayPacing.Realtime)
                        {
                            _base = _run.Opened!.Step + (ulong)(_sinceOpen.Elapsed.TotalSeconds / _wallStep) + (ulong)_lead;
                        }

                        _clock.Restart();
                    }

                    long step = (long)((e.TimestampUs - origin) * _stepsPerMicrosecond);
                    if (step < currentStep)
                    {
                        step = currentStep;
                        reordered++;
                    }

                    if (step != currentStep || _requestEvents >= _plan.MaxEventsPerRequest)
                    {
                        if (step - _requestFirst >= _chunkSteps || _requestEvents >= _plan.MaxEventsPerRequest)
                        {
                            await FlushAsync(step, cancellationToken);
                        }

                        current = new Input { Population = _plan.Population };
                        if (_plan.Pacing == ReplayPacing.Realtime)
                        {
                            current.Step = _base + (ulong)step;
                        }
                        else
                        {
                            current.Offset = (uint)(step - _requestFirst);
                        }

                        _request.Inputs.Add(current);
                        currentStep = step;
                    }

                    current!.Indices.Add((uint)index);
                    _requestEvents++;
                    sent++;
                }

                eventsRead += n;
            }

            long steps = currentStep + 1;
            await FlushAsync(steps, cancellationToken);
            await FinishAsync(steps, readerTask, stopReader, cancellationToken);
            _clock.Stop();
            return new ReplaySummary(eventsRead, sent, skipped, reordered, steps, _requests, _clock.Elapsed.TotalSeconds, Interlocked.Read(ref _outputSpikes));
        }
        catch (OperationCanceledException) when (_readerFailed.IsCancellationRequested)
        {
            await readerTask; // the stream failed: its status is the error
            throw;
        }
        finally
        {
            await stopReader.CancelAsync();
            try
            {
                await readerTask;
            }
            catch (Exception e) when (e is OperationCanceledException or RpcException)
            {
                // The reader's own failure surfaces through FinishAsync; here it is only stopped.
            }
        }
    }

    /// <summary>Sends the request being built; LOCKSTEP requests advance up to (not including) <paramref name="untilStep"/>.</summary>
    private async Task FlushAsync(long untilStep, CancellationToken cancellationToken)
    {
        bool lockstep = _plan.Pacing != ReplayPacing.Realtime;
        long advance = lockstep ? untilStep - _requestFirst : 0;
        if (_request.Inputs.Count > 0 || advance > 0)
        {
            if (_plan.Pacing != ReplayPacing.Lockstep)
            {
                var due = TimeSpan.FromSeconds(_requestFirst * _wallStep);
                var wait = due - _clock.Elapsed;
                if (wait > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(wait, cancellationToken);
                }
            }

            if (lockstep)
            {
                await _window.WaitAsync(cancellationToken);
                _request.Advance = checked((uint)advance);
                _stepsSent += advance;
                _awaitedSteps.Enqueue(_stepsSent);
            }

            await _run.SendAsync(_request, cancellationToken);
            _requests++;
            _request = new RunRequest();
        }

        _requestFirst = untilStep;
        _requestEvents = 0;
    }

    private async Task FinishAsync(long steps, Task readerTask, CancellationTokenSource stopReader, CancellationToken cancellationToken)
    {
        if (_plan.Pacing != ReplayPacing.Realtime)
        {
            // Half-close: the server executes the steps asked for and ends the stream.
            await _run.CompleteAsync();
            await readerTask;
            if (Interlocked.Read(ref _stepsReturned) != _stepsSent)
            {
                throw new RpcException(new Status(StatusCode.Internal, $"sent {_stepsSent} steps but {_stepsReturned} came back"));
            }

            return;
        }

        // REALTIME: wait until the tick of the last replayed step has been executed, then end the stream.
        long last = (long)_base + steps - 1;
        var deadline = _clock.Elapsed + TimeSpan.FromSeconds(10 + (steps + _lead) * _wallStep);
        while (Interlocked.Read(ref _lastStepNumber) < last && !readerTask.IsCompleted)
        {
            if (_clock.Elapsed > deadline)
            {
                throw new TimeoutException($"the REALTIME network did not reach step {last} (at {Interlocked.Read(ref _lastStepNumber)})");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(1, _wallStep * 1000)), cancellationToken);
        }

        if (readerTask.IsCompleted)
        {
            await readerTask; // surfaces the stream's failure
        }

        await stopReader.CancelAsync();
    }

    private async Task ReadOutputsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await ReadAllOutputsAsync(cancellationToken);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            await _readerFailed.CancelAsync();
            throw;
        }
    }

    private async Task ReadAllOutputsAsync(CancellationToken cancellationToken)
    {
        while (await _run.ReadAsync(cancellationToken) is { } response)
        {
            foreach (var step in response.Steps)
            {
                long spikes = 0;
                foreach (var population in step.Spikes)
                {
                    spikes += population.Indices.Count;
                }

                Interlocked.Add(ref _outputSpikes, spikes);
                Volatile.Write(ref _lastStepNumber, (long)step.Step);
                long returned = Interlocked.Increment(ref _stepsReturned);
                while (_awaitedSteps.TryPeek(out var target) && returned >= target && _awaitedSteps.TryDequeue(out _))
                {
                    _window.Release();
                }
            }
        }
    }
}
