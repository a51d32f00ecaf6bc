using Grpc.Core;
using Snn.FunctionalTests.Infrastructure;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Streaming;

/// <summary>
/// WatchRequest.queue: a watcher may ask for up to 4,096 steps, but beyond the default 256 only as many
/// as 32 MiB hold with every watched neuron spiking (an index and a value each), since spike buffers
/// grow to what the populations emit.
/// </summary>
public sealed class WatchQueueTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(4096u, 2000, 2097, 20_000)] // 32 MiB / (8 bytes x 2,000 neurons)
    [InlineData(4096u, 20_000, 256, 4000)] // 209 by that rule, but never below the default
    [InlineData(0u, 2000, 256, 20_000)]
    public async Task A_large_queue_is_granted_as_far_as_the_worst_case_of_spikes_allows(uint asked, int neurons, int granted, uint steps)
    {
        string name = $"watch-queue-{asked}-{neurons}";
        var spec = new NetworkSpec { Name = name };
        spec.Populations.Add(new PopulationSpec { Name = "in", Model = "input", Size = (uint)neurons });
        spec.Populations.Add(new PopulationSpec { Name = "out", Model = "snntorch.Leaky", Size = (uint)neurons, Params = { ["beta"] = new ParameterValue { Scalar = 0.8 } } });
        spec.Projections.Add(new ProjectionSpec { Name = "ff", Source = "in", Target = "out", OneToOne = new OneToOneProjection() });
        // Once kicked, every neuron spikes at every step: each step's response is large, so an idle
        // watcher's flow-control windows fill and its queue with them.
        spec.Projections.Add(new ProjectionSpec { Name = "loop", Source = "out", Target = "out", OneToOne = new OneToOneProjection { Weights = { Enumerable.Repeat(2f, neurons) } } });
        using var client = server.CreateClient();
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec });
        try
        {
            using var cts = new CancellationTokenSource(TestTimeout);
            await using var watch = client.WatchAsync(new WatchRequest { Network = name, Queue = asked }, new CallOptions(cancellationToken: cts.Token)).GetAsyncEnumerator();
            Assert.True(await watch.MoveNextAsync());
            Assert.NotNull(watch.Current.Opened);

            // Drive while the watcher reads nothing.
            await using (var run = await client.OpenRunAsync(new RunOpen { Network = name }, new CallOptions(cancellationToken: cts.Token)))
            {
                await run.AdvanceAsync(steps, [new Input { Population = "in", Indices = { Enumerable.Range(0, neurons).Select(n => (uint)n) }, Values = { Enumerable.Repeat(2f, neurons) } }], cts.Token);
                await run.CompleteAsync();
                while (await run.ReadAsync(cts.Token) is not null)
                {
                }
            }

            var e = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                while (await watch.MoveNextAsync())
                {
                }
            });
            Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
            Assert.Contains($"fell {granted} steps behind", e.Status.Detail, StringComparison.Ordinal);
        }
        finally
        {
            await client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = name });
        }
    }
}
