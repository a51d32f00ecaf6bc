using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Snn.Client;
using Grpc.Net.Client;
using Grpc.Core;
using Snn.Protos.V1;

namespace Snn.Cli.Bench;

/// <summary>
/// (a) LOCKSTEP round trip: one RunRequest (advance 1, 10 input events) and its RunResponse at a
/// time on a 1,000-neuron network; and (a0) the same ping-pong against the echo baseline process
/// with requests and responses of the measured RunRequest/RunResponse sizes, through the same
/// client path (a Grpc.Net.Client duplex call), so the difference is the service and the engine.
/// </summary>
internal sealed class LockstepRttSuite() : LeakyNetworkSuite("rtt")
{
    private const int EventsPerStep = 10;
    private ChildProcess? _echo;

    public override string Name => "lockstep-rtt";

    public override string Describe(BenchSettings s) =>
        $"LOCKSTEP, advance 1 with {EventsPerStep} input events per RunRequest, response read before the next request; input {Neurons} -> one_to_one -> snntorch.Leaky {Neurons} (beta 0.9); {s.RoundTrips:N0} round trips after {s.WarmupRoundTrips:N0} warm-up; echo: separate process on the same transport, same message sizes";

    public override async Task SetupAsync(BenchContext context, CancellationToken cancellationToken)
    {
        await base.SetupAsync(context, cancellationToken);
        _echo = ChildProcess.StartEchoServer();
        await _echo.WaitHealthyAsync(TimeSpan.FromSeconds(60), cancellationToken);
    }

    public override async Task CleanupAsync(BenchContext context)
    {
        await base.CleanupAsync(context);
        if (_echo is not null)
        {
            await _echo.DisposeAsync();
        }
    }

    public override async Task<IReadOnlyList<Figure>> RunOnceAsync(BenchContext context, int repetition, CancellationToken cancellationToken)
    {
        var s = context.Settings;
        var random = new Random(1000 + repetition);
        var requests = new RunRequest[64];
        for (int i = 0; i < requests.Length; i++)
        {
            requests[i] = BenchNetworks.Advance(random, Neurons, 1, EventsPerStep);
        }

        var engine = new LatencyRecorder(s.RoundTrips);
        long requestBytes = 0, responseBytes = 0;
        double seconds;
        await using (var run = await context.Client.OpenRunAsync(new RunOpen { Network = Network, Reset = true }, new CallOptions(cancellationToken: cancellationToken)))
        {
            using var abort = cancellationToken.Register(() => _ = run.DisposeAsync().AsTask());
            long measuredStart = 0;
            for (int i = 0; i < s.WarmupRoundTrips + s.RoundTrips; i++)
            {
                if (i == s.WarmupRoundTrips)
                {
                    measuredStart = Stopwatch.GetTimestamp();
                }

                var request = requests[i % requests.Length];
                long t0 = Stopwatch.GetTimestamp();
                await run.SendAsync(request);
                int steps = 0;
                RunResponse? last = null;
                while (steps < 1)
                {
                    last = await run.ReadAsync() ?? throw new RpcException(new Status(StatusCode.Internal, "the Run stream ended early"));
                    steps += last.Steps.Count;
                }

                long t1 = Stopwatch.GetTimestamp();
                if (i >= s.WarmupRoundTrips)
                {
                    engine.Record(t1 - t0);
                    requestBytes += request.CalculateSize();
                    responseBytes += last!.CalculateSize();
                }
            }

            seconds = Stat.Seconds(measuredStart, Stopwatch.GetTimestamp());
            await run.CompleteAsync();
            while (await run.ReadAsync(cancellationToken) is not null)
            {
            }
        }

        int requestSize = (int)Math.Round((double)requestBytes / s.RoundTrips);
        int responseSize = (int)Math.Round((double)responseBytes / s.RoundTrips);
        var (echo, echoSeconds, echoRequestSize, echoResponseSize) = await EchoAsync(context, requestSize, responseSize, cancellationToken);

        return
        [
            new("p50", engine.PercentileMicros(0.50), "µs"),
            new("p99", engine.PercentileMicros(0.99), "µs"),
            new("max", engine.MaxMicros, "µs"),
            new("steps/s", s.RoundTrips / seconds, "steps/s"),
            new("RunRequest size", requestSize, "bytes"),
            new("RunResponse size", responseSize, "bytes"),
            new("echo p50", echo.PercentileMicros(0.50), "µs"),
            new("echo p99", echo.PercentileMicros(0.99), "µs"),
            new("echo max", echo.MaxMicros, "µs"),
            new("echo round trips/s", s.RoundTrips / echoSeconds, "1/s"),
            new("echo request size", echoRequestSize, "bytes"),
            new("echo response size", echoResponseSize, "bytes"),
            new("p50 over echo", engine.PercentileMicros(0.50) - echo.PercentileMicros(0.50), "µs"),
        ];
    }

    /// <summary>(a0) The same ping-pong against the echo process, with the measured sizes.</summary>
    private async Task<(LatencyRecorder Latency, double Seconds, int RequestSize, int ResponseSize)> EchoAsync(
        BenchContext context, int requestSize, int responseSize, CancellationToken cancellationToken)
    {
        var s = context.Settings;
        var request = EchoServer.Payload(requestSize, responseSize);
        var latency = new LatencyRecorder(s.RoundTrips);
        using var channel = GrpcChannel.ForAddress(_echo!.Address);
        using var call = new Echo.Echo.EchoClient(channel).Echo(new CallOptions(cancellationToken: cancellationToken));
        long measuredStart = 0;
        int echoedSize = 0;
        for (int i = 0; i < s.WarmupRoundTrips + s.RoundTrips; i++)
        {
            if (i == s.WarmupRoundTrips)
            {
                measuredStart = Stopwatch.GetTimestamp();
            }

            long t0 = Stopwatch.GetTimestamp();
            await call.RequestStream.WriteAsync(request);
            if (!await call.ResponseStream.MoveNext(cancellationToken))
            {
                throw new RpcException(new Status(StatusCode.Internal, "the echo stream ended early"));
            }

            long t1 = Stopwatch.GetTimestamp();
            if (i >= s.WarmupRoundTrips)
            {
                latency.Record(t1 - t0);
            }

            echoedSize = call.ResponseStream.Current.CalculateSize();
        }

        double seconds = Stat.Seconds(measuredStart, Stopwatch.GetTimestamp());
        await call.RequestStream.CompleteAsync();
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
        }

        return (latency, seconds, request.CalculateSize(), echoedSize);
    }
}
