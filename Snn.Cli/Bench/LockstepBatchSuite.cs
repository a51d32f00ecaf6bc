using System.Diagnostics;
using Snn.Client;
using Grpc.Core;
using Snn.Protos.V1;

namespace Snn.Cli.Bench;

/// <summary>
/// (b) LOCKSTEP in batches: each RunRequest advances 100 steps and carries the inputs of each of
/// them (10 events at offsets 0..99); the next request goes out once all 100 steps are back.
/// </summary>
internal sealed class LockstepBatchSuite() : LeakyNetworkSuite("batch")
{
    private const int EventsPerStep = 10;
    private const uint StepsPerMessage = 100;

    public override string Name => "lockstep-batch";

    public override string Describe(BenchSettings s) =>
        $"LOCKSTEP, advance {StepsPerMessage} per RunRequest with {EventsPerStep} events for each step (offsets 0..{StepsPerMessage - 1}), all {StepsPerMessage} steps read before the next request; same {Neurons}-neuron network; {s.BatchMessages:N0} messages after {s.BatchWarmup} warm-up";

    public override async Task<IReadOnlyList<Figure>> RunOnceAsync(BenchContext context, int repetition, CancellationToken cancellationToken)
    {
        var s = context.Settings;
        var random = new Random(2000 + repetition);
        var requests = new RunRequest[16];
        for (int i = 0; i < requests.Length; i++)
        {
            requests[i] = BenchNetworks.Advance(random, Neurons, StepsPerMessage, EventsPerStep);
        }

        var latency = new LatencyRecorder(s.BatchMessages);
        long requestBytes = 0, responses = 0;
        await using var run = await context.Client.OpenRunAsync(new RunOpen { Network = Network, Reset = true }, new CallOptions(cancellationToken: cancellationToken));
        using var abort = cancellationToken.Register(() => _ = run.DisposeAsync().AsTask());
        long measuredStart = 0;
        for (int i = 0; i < s.BatchWarmup + s.BatchMessages; i++)
        {
            if (i == s.BatchWarmup)
            {
                measuredStart = Stopwatch.GetTimestamp();
            }

            var request = requests[i % requests.Length];
            long t0 = Stopwatch.GetTimestamp();
            await run.SendAsync(request);
            int steps = 0;
            while (steps < StepsPerMessage)
            {
                var response = await run.ReadAsync() ?? throw new RpcException(new Status(StatusCode.Internal, "the Run stream ended early"));
                steps += response.Steps.Count;
                if (i >= s.BatchWarmup)
                {
                    responses++;
                }
            }

            long t1 = Stopwatch.GetTimestamp();
            if (i >= s.BatchWarmup)
            {
                latency.Record(t1 - t0);
                requestBytes += request.CalculateSize();
            }
        }

        double seconds = Stat.Seconds(measuredStart, Stopwatch.GetTimestamp());
        await run.CompleteAsync();
        while (await run.ReadAsync(cancellationToken) is not null)
        {
        }

        return
        [
            new("steps/s", s.BatchMessages * StepsPerMessage / seconds, "steps/s"),
            new("message p50", latency.PercentileMicros(0.50), "µs"),
            new("message p99", latency.PercentileMicros(0.99), "µs"),
            new("message max", latency.MaxMicros, "µs"),
            new("RunRequest size", Math.Round((double)requestBytes / s.BatchMessages), "bytes"),
            new("RunResponses per request", (double)responses / s.BatchMessages, "messages"),
        ];
    }
}
