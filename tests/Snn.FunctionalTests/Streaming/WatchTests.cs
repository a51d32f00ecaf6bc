using Snn.FunctionalTests.Infrastructure;
using Grpc.Core;
using Snn.Protos.V1;
using static Snn.FunctionalTests.Streaming.StreamingTestNetworks;

namespace Snn.FunctionalTests.Streaming;

/// <summary>Watch: many listeners on one instance, each with its own backpressure policy.</summary>
public sealed class WatchTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task A_watcher_sees_exactly_what_the_driver_sees()
    {
        using var client = server.CreateClient();
        string name = await CreateAsync(client, 8);
        var watch = new WatchRequest { Network = name };
        watch.Record.Add(RecordAll("iaf"));
        var watcherSteps = new List<StepOutput>();
        var watching = Task.Run(async () =>
        {
            await foreach (var r in client.WatchAsync(watch, Options()))
            {
                watcherSteps.AddRange(r.Steps);
                if (watcherSteps.Count == 50)
                {
                    break;
                }
            }
        });

        // Wait until the watcher is attached, then drive 50 steps.
        await WaitFor(async () => (await client.GetNetworkAsync(new GetNetworkRequest { Name = name }, Options())).Instances[0].Watchers == 1);
        var open = new RunOpen { Network = name };
        open.Record.Add(RecordAll("iaf"));
        await using var run = await client.OpenRunAsync(open, Options());
        var inputs = Enumerable.Range(0, 50).Select(t => new Input { Population = "in", Offset = (uint)t, Indices = { (uint)(t % 8) }, Values = { 0.75f } });
        await run.AdvanceAsync(50, inputs);
        await run.CompleteAsync();
        var driverSteps = new List<StepOutput>();
        await foreach (var s in run.ReadStepsAsync())
        {
            driverSteps.Add(s);
        }

        await watching.WaitAsync(TestTimeout);
        Assert.Equal(50, driverSteps.Count);
        Assert.Equal(driverSteps, watcherSteps); // protobuf value equality: same spikes, same states
        Assert.Contains(driverSteps, s => s.Spikes.Count > 0);
    }

    [Fact]
    public async Task A_slow_watcher_is_cut_off_or_loses_the_oldest_outputs_as_it_asked_and_the_driver_is_never_held_back()
    {
        using var client = server.CreateClient();
        const int neurons = 1000, steps = 20_000; // ~4 KB of recorded state per step: 80 MB, far past any flow-control window
        string name = await CreateAsync(client, neurons);

        var strict = new WatchRequest { Network = name, Queue = 4 };
        strict.Record.Add(RecordAll("iaf"));
        var lossy = new WatchRequest { Network = name, Queue = 4, Lossy = true };
        lossy.Record.Add(RecordAll("iaf"));
        await using var strictEnum = client.WatchAsync(strict, Options()).GetAsyncEnumerator();
        await using var lossyEnum = client.WatchAsync(lossy, Options()).GetAsyncEnumerator();
        Assert.True(await strictEnum.MoveNextAsync());
        Assert.NotNull(strictEnum.Current.Opened);
        Assert.True(await lossyEnum.MoveNextAsync());
        Assert.NotNull(lossyEnum.Current.Opened);

        // Drive while neither watcher reads.
        await using var run = await client.OpenRunAsync(new RunOpen { Network = name, SpikesFrom = { "iaf" } }, Options());
        await run.AdvanceAsync(steps);
        await run.CompleteAsync();
        long driven = 0;
        await foreach (var _ in run.ReadStepsAsync())
        {
            driven++;
        }

        Assert.Equal(steps, driven);

        // The strict watcher was cut off with RESOURCE_EXHAUSTED.
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await strictEnum.MoveNextAsync())
            {
            }
        });
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Contains("fell 4 steps behind", e.Status.Detail, StringComparison.Ordinal);

        // The lossy one got every step it did not lose, in order, and was told how many it lost
        // (the last steps may be among the lost ones: counts, not step numbers, tell when it is done).
        long seen = 0, dropped = 0, last = -1;
        while (seen + dropped < steps)
        {
            Assert.True(await lossyEnum.MoveNextAsync().AsTask().WaitAsync(TestTimeout), "the lossy watcher's stream ended");
            dropped += (long)lossyEnum.Current.DroppedBefore;
            foreach (var s in lossyEnum.Current.Steps)
            {
                Assert.True((long)s.Step > last);
                last = (long)s.Step;
                seen++;
            }
        }

        Assert.True(dropped > 0, "the lossy watcher lost nothing");
        Assert.Equal(steps, seen + dropped);
        Assert.True(last < steps);
    }

    [Fact]
    public async Task Watching_a_missing_instance_or_variable_is_refused()
    {
        using var client = server.CreateClient();
        string name = await CreateAsync(client, 2);
        async Task<RpcException> Fails(WatchRequest r) => await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in client.WatchAsync(r, Options()))
            {
            }
        });

        Assert.Equal(StatusCode.NotFound, (await Fails(new WatchRequest { Network = "nope" })).StatusCode);
        var e = await Fails(new WatchRequest { Network = name, Instance = 3 });
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Contains("instance 3 does not exist", e.Status.Detail, StringComparison.Ordinal);
        var bad = new WatchRequest { Network = name };
        bad.Record.Add(new RecordSpec { Population = "iaf", Variables = { "mem" } });
        e = await Fails(bad);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("watch.record[0].variables[0] 'mem' is not a state variable of model sinabs.IAF", e.Status.Detail, StringComparison.Ordinal);
    }

    internal static async Task WaitFor(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TestTimeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Delay(10);
        }
    }
}
