using System.Diagnostics;
using Snn.FunctionalTests.Infrastructure;
using Grpc.Core;
using Snn.Protos.V1;
using static Snn.FunctionalTests.Streaming.StreamingTestNetworks;

namespace Snn.FunctionalTests.Streaming;

/// <summary>
/// The REALTIME clock over the real transport. The bounds are the feature and deliberately generous
/// (the suite runs tests in parallel on two cores): the README gives the measured figures.
/// </summary>
[Collection(RealtimeCollection.Name)]
public sealed class RealtimeTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task The_clock_holds_its_period_applies_inputs_at_their_step_and_counts_late_ones()
    {
        using var client = server.CreateClient();
        string name = await CreateAsync(client, 4, ClockMode.Realtime); // dt 1 ms: 1 kHz
        var open = new RunOpen { Network = name, StatusIntervalMs = 100 };
        await using var run = await client.OpenRunAsync(open, Options());
        ulong start = run.Opened!.Step;

        // One input named by absolute step, one for a step long past, one by offset (next tick).
        ulong target = start + 200;
        await run.SendAsync(new RunRequest
        {
            Inputs =
            {
                new Input { Population = "in", Step = target, Indices = { 2 }, Values = { 1.5f } },
                new Input { Population = "in", Step = 0, Indices = { 3 } },
            },
        });

        var steps = new List<ulong>();
        RunStatus? status = null;
        ulong spikeStep = 0;
        while (steps.Count < 1000 || status is null)
        {
            var r = await run.ReadAsync().WaitAsync(TestTimeout);
            Assert.NotNull(r);
            foreach (var s in r.Steps)
            {
                steps.Add(s.Step);
                if (s.Spikes.Any(p => p.Indices.Contains(2u)))
                {
                    spikeStep = s.Step;
                }
            }

            status = r.Status ?? status;
        }

        // No step skipped, none repeated.
        for (int i = 1; i < steps.Count; i++)
        {
            Assert.Equal(steps[i - 1] + 1, steps[i]);
        }

        // The input named for step `target` fired exactly then; the late one was counted.
        Assert.Equal(target, spikeStep);
        Assert.True(status!.LateInputs >= 1, $"late inputs {status.LateInputs}");

        // Rate: the server's tick count over 3 s of wall time, within 10% of 1 kHz. Clock statistics
        // start afresh (a reset of all instances restarts the clock), so start-up JIT is not counted.
        // A full collection first: the suite's earlier tests leave garbage behind in this process,
        // and a blocking collection inside the window would be the test's pause, not the clock's.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        await client.ResetStateAsync(new ResetStateRequest { Network = name }, Options());
        var get = new GetNetworkRequest { Name = name };
        var before = await client.GetNetworkAsync(get, Options());
        long t0 = Stopwatch.GetTimestamp();
        await Task.Delay(3000);
        var info = await client.GetNetworkAsync(get, Options());
        double seconds = (Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency;
        double rate = (info.Clock.Ticks - before.Clock.Ticks) / seconds;
        Assert.InRange(rate, 900, 1100);

        Assert.Equal(0.001, info.Clock.PeriodS, 9);
        Assert.True(info.Clock.Ticks >= 1000);
        // Tick lateness: the median tick starts within 1 ms of its time. (The tail is not asserted:
        // this shared VM stalls a process for up to ~100 ms now and then, and the clock then catches
        // up, which the rate above shows; the README gives the measured p99.)
        Assert.True(info.Clock.LagP50Us <= 1_000,
            $"p50 lag {info.Clock.LagP50Us} µs (p99 {info.Clock.LagP99Us} µs, max {info.Clock.MaxLagUs} µs)");
        // The loop begins a tick before it steps the network: tick lateness never exceeds step lateness.
        Assert.True(info.Clock.TickLagP50Us <= info.Clock.LagP50Us && info.Clock.TickLagP99Us <= info.Clock.LagP99Us
            && info.Clock.MaxTickLagUs <= info.Clock.MaxLagUs,
            $"tick lateness p50/p99/max {info.Clock.TickLagP50Us}/{info.Clock.TickLagP99Us}/{info.Clock.MaxTickLagUs} µs, " +
            $"step lateness {info.Clock.LagP50Us}/{info.Clock.LagP99Us}/{info.Clock.MaxLagUs} µs");
    }

    [Fact]
    public async Task Advance_is_refused_on_a_realtime_network()
    {
        using var client = server.CreateClient();
        string name = await CreateAsync(client, 2, ClockMode.Realtime);
        await using var run = await client.OpenRunAsync(new RunOpen { Network = name }, Options());
        await run.SendAsync(new RunRequest { Advance = 5 });
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await run.ReadAsync() is not null)
            {
            }
        });
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("REALTIME", e.Status.Detail, StringComparison.Ordinal);
    }
}

/// <summary>Wall-clock tests (the REALTIME clock, latency bounds) run alone, after the parallel ones, so other tests do not starve the clock.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealtimeCollection
{
    public const string Name = "Realtime clock (not parallel)";
}
