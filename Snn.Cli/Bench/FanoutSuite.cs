using System.Diagnostics;
using Snn.Client;
using Grpc.Core;
using Snn.Protos.V1;

namespace Snn.Cli.Bench;

/// <summary>
/// (e) Fan-out: one LOCKSTEP driver and <see cref="BenchSettings.Watchers"/> watchers (not lossy)
/// on one instance. The driver sends 10 steps per request (10 events each) and stays at most
/// <see cref="MaxLead"/> steps ahead of the slowest watcher, below the server's 256-step watcher
/// queue, so no watcher is cut off; every watcher must then receive every step, in order.
/// </summary>
internal sealed class FanoutSuite() : LeakyNetworkSuite("fanout")
{
    private const int EventsPerStep = 10;
    private const uint StepsPerRequest = 10;
    private const long MaxLead = 160;

    public override string Name => "fanout";

    public override string Describe(BenchSettings s) =>
        $"one LOCKSTEP driver ({StepsPerRequest} steps per RunRequest, {EventsPerStep} events per step, at most {MaxLead} steps ahead of the slowest watcher) and {s.Watchers} watchers (not lossy) on one instance of the {Neurons}-neuron network; {s.FanoutSeconds:0.#} s";

    public override async Task<IReadOnlyList<Figure>> RunOnceAsync(BenchContext context, int repetition, CancellationToken cancellationToken)
    {
        var s = context.Settings;
        var random = new Random(5000 + repetition);
        var requests = new RunRequest[16];
        for (int i = 0; i < requests.Length; i++)
        {
            requests[i] = BenchNetworks.Advance(random, Neurons, StepsPerRequest, EventsPerStep);
        }

        using var stopWatchers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var progress = new SemaphoreSlim(0);
        var watchers = new Watcher[s.Watchers];
        for (int w = 0; w < watchers.Length; w++)
        {
            watchers[w] = new Watcher(progress);
        }

        var watcherTasks = watchers.Select(w => w.RunAsync(context.Client, Network, stopWatchers.Token)).ToArray();
        await Task.WhenAll(watchers.Select(w => w.Opened.Task)).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        if (watchers.Select(w => w.FirstStep).Distinct().Count() != 1)
        {
            throw new RpcException(new Status(StatusCode.Internal, "the watchers opened at different steps; is something else driving the instance?"));
        }

        ulong firstStep = watchers[0].FirstStep;
        await using var run = await context.Client.OpenRunAsync(new RunOpen { Network = Network }, new CallOptions(cancellationToken: cancellationToken));
        if (run.Opened!.Step != firstStep)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"the driver opened at step {run.Opened.Step}, the watchers at {firstStep}"));
        }

        long driverReceived = 0;
        var driverReader = Task.Run(async () =>
        {
            while (await run.ReadAsync() is { } response)
            {
                Interlocked.Add(ref driverReceived, response.Steps.Count);
                progress.Release();
            }
        }, CancellationToken.None);

        long start = Stopwatch.GetTimestamp();
        long until = start + (long)(s.FanoutSeconds * Stopwatch.Frequency);
        long sent = 0;
        int next = 0;
        while (Stopwatch.GetTimestamp() < until)
        {
            // Stay within reach of the slowest watcher and of the driver's own outputs.
            while (sent + StepsPerRequest - watchers.Min(w => w.Received) > MaxLead || sent - Interlocked.Read(ref driverReceived) > MaxLead)
            {
                if (driverReader.IsCompleted || watcherTasks.Any(t => t.IsCompleted))
                {
                    break;
                }

                await progress.WaitAsync(TimeSpan.FromMilliseconds(50), cancellationToken);
            }

            if (driverReader.IsCompleted || watcherTasks.Any(t => t.IsCompleted))
            {
                break;
            }

            await run.SendAsync(requests[next++ % requests.Length]);
            sent += StepsPerRequest;
        }

        await run.CompleteAsync();
        await driverReader;
        long driverEnd = Stopwatch.GetTimestamp();

        // Every watcher must reach the last step; give the slow ones time to drain.
        var deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        while (watchers.Any(w => w.Received < sent && !w.Ended) && Stopwatch.GetTimestamp() < deadline)
        {
            await progress.WaitAsync(TimeSpan.FromMilliseconds(50), cancellationToken);
        }

        long watchersEnd = Stopwatch.GetTimestamp();
        stopWatchers.Cancel();
        await Task.WhenAll(watcherTasks);

        int complete = watchers.Count(w => w.Received == sent && w.InOrder && w.Dropped == 0);
        if (complete != watchers.Length)
        {
            var failed = watchers.FirstOrDefault(w => w.Failure is not null)?.Failure;
            await context.Output.WriteLineAsync($"  warning: {watchers.Length - complete} of {watchers.Length} watchers incomplete (received {watchers.Min(w => w.Received)}..{watchers.Max(w => w.Received)} of {sent} steps){(failed is null ? string.Empty : ": " + failed)}");
        }

        return
        [
            new("driver steps/s", sent / Stat.Seconds(start, driverEnd), "steps/s"),
            new("steps driven", sent, "steps"),
            new("steps per watcher (min)", watchers.Min(w => w.Received), "steps"),
            new("steps per watcher (max)", watchers.Max(w => w.Received), "steps"),
            new("complete watchers", complete, $"of {watchers.Length}"),
            new("delivered steps/s (all watchers)", watchers.Sum(w => (double)w.Received) / Stat.Seconds(start, watchersEnd), "steps/s"),
        ];
    }

    /// <summary>One watcher: counts the steps it receives and checks they come in order without gaps.</summary>
    private sealed class Watcher(SemaphoreSlim progress)
    {
        private long _received;

        public TaskCompletionSource Opened { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ulong FirstStep { get; private set; }

        public long Received => Interlocked.Read(ref _received);

        public bool InOrder { get; private set; } = true;

        public ulong Dropped { get; private set; }

        public bool Ended { get; private set; }

        public string? Failure { get; private set; }

        public async Task RunAsync(SnnClient client, string network, CancellationToken cancellationToken)
        {
            ulong expected = 0;
            try
            {
                await foreach (var response in client.WatchAsync(new WatchRequest { Network = network }, new CallOptions(cancellationToken: cancellationToken)))
                {
                    if (response.Opened is { } opened)
                    {
                        FirstStep = expected = opened.Step;
                        Opened.TrySetResult();
                        continue;
                    }

                    Dropped += response.DroppedBefore;
                    foreach (var step in response.Steps)
                    {
                        InOrder &= step.Step == expected;
                        expected = step.Step + 1;
                    }

                    Interlocked.Add(ref _received, response.Steps.Count);
                    progress.Release();
                }
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                // Stopped by the suite once it had every step.
                return;
            }
            catch (RpcException e)
            {
                Failure = $"{SnnCli.StatusName(e.StatusCode)}: {e.Status.Detail}";
                Opened.TrySetException(e);
            }
            finally
            {
                Ended = true;
                progress.Release();
            }
        }
    }
}
