using System.Diagnostics;
using Snn.Client;
using Grpc.Core;
using Snn.Protos.V1;

namespace Snn.Cli.Bench;

/// <summary>
/// (c) Event ingest: RunRequests of many events (10,000–50,000 indices) into a 2x128x128 input
/// population, advance 1 each, LOCKSTEP, up to <see cref="Window"/> requests in flight (a reader
/// task takes the steps back concurrently). Figure: events per second accepted and stepped.
/// </summary>
internal sealed class IngestSuite : BenchSuite
{
    private const int Window = 4;
    private string _network = "";

    public override string Name => "ingest";

    public override string Describe(BenchSettings s) =>
        $"LOCKSTEP, {s.IngestEventsPerMessage:N0} random events per RunRequest (advance 1) into input 2x128x128 -> one_to_one -> sinabs.IAF 2x128x128 (threshold never reached: responses carry no spikes), up to {Window} requests in flight; {s.IngestSeconds:0.#} s measured after {s.IngestWarmupSeconds:0.#} s warm-up";

    public override async Task SetupAsync(BenchContext context, CancellationToken cancellationToken)
    {
        _network = context.Prefix + "-ingest";
        await DeleteQuietlyAsync(context, _network);
        await context.Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = BenchNetworks.Camera(_network) }, new CallOptions(cancellationToken: cancellationToken));
    }

    public override Task CleanupAsync(BenchContext context) => DeleteQuietlyAsync(context, _network);

    public override async Task<IReadOnlyList<Figure>> RunOnceAsync(BenchContext context, int repetition, CancellationToken cancellationToken)
    {
        var s = context.Settings;
        int events = s.IngestEventsPerMessage;
        var random = new Random(3000 + repetition);
        var requests = new RunRequest[8];
        for (int i = 0; i < requests.Length; i++)
        {
            requests[i] = BenchNetworks.Advance(random, (int)BenchNetworks.CameraSize, 1, events);
        }

        await using var run = await context.Client.OpenRunAsync(new RunOpen { Network = _network, Reset = true }, new CallOptions(cancellationToken: cancellationToken));
        using var abort = cancellationToken.Register(() => _ = run.DisposeAsync().AsTask());
        using var window = new SemaphoreSlim(Window, Window);
        var completions = new List<long>(1 << 16);

        var reader = Task.Run(async () =>
        {
            while (await run.ReadAsync() is { } response)
            {
                foreach (var _ in response.Steps)
                {
                    completions.Add(Stopwatch.GetTimestamp());
                    window.Release();
                }
            }
        }, CancellationToken.None);

        long start = Stopwatch.GetTimestamp();
        long measuredFrom = start + (long)(s.IngestWarmupSeconds * Stopwatch.Frequency);
        long until = measuredFrom + (long)(s.IngestSeconds * Stopwatch.Frequency);
        long sent = 0;
        while (Stopwatch.GetTimestamp() < until)
        {
            await window.WaitAsync(cancellationToken);
            if (reader.IsCompleted)
            {
                break;
            }

            await run.SendAsync(requests[sent % requests.Length]);
            sent++;
        }

        await run.CompleteAsync();
        await reader;
        if (completions.Count != sent)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"sent {sent} steps but {completions.Count} came back"));
        }

        // Steps completed inside the measured window, from the end of the warm-up to the last completion.
        int first = completions.FindIndex(t => t >= measuredFrom);
        if (first < 0 || first == completions.Count - 1)
        {
            throw new RpcException(new Status(StatusCode.Internal, "too few steps completed after the warm-up to measure ingest"));
        }

        long end = completions[^1];
        int steps = completions.Count - 1 - first;
        double seconds = Stat.Seconds(completions[first], end);
        return
        [
            new("events/s", steps * (double)events / seconds, "events/s"),
            new("messages/s", steps / seconds, "1/s"),
            new("events per message", events, "events"),
            new("RunRequest size", requests[0].CalculateSize(), "bytes"),
        ];
    }
}
