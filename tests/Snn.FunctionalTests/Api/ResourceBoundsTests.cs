using Grpc.Core;
using Grpc.Health.V1;
using Snn.Client;
using Snn.Protos.V1;
using Snn.Server;
using static Snn.FunctionalTests.Api.Specs;
using Snn.FunctionalTests.Infrastructure;

namespace Snn.FunctionalTests.Api;

/// <summary>
/// Requests that ask for more time or memory than the server can give are refused before they can
/// hurt it (issue 11, defects an independent probe found): a REALTIME tick period too long for the
/// loop's wait, and networks beyond the server-wide memory budget.
/// </summary>
public sealed class ResourceBoundsTests(ApiServerFixture server) : ApiTest(server)
{
    /// <summary>
    /// dt=1 × realtime_factor=3e6 made the loop's millisecond wait overflow an int and killed the
    /// process; factor 1e20 overflowed the period and ticked flat out; dt had no upper bound.
    /// </summary>
    [Theory]
    [InlineData(1.0, 3e6, "spec.dt × spec.realtime_factor = 3000000 s", "Snn:Limits:MaxTickPeriod")]
    [InlineData(0.001, 1e20, "spec.dt × spec.realtime_factor = 1E+17 s", "Snn:Limits:MaxTickPeriod")]
    [InlineData(1e6, 1.0, "spec.dt is 1000000", "Snn:Limits:MaxDt")]
    public async Task Realtime_period_or_dt_beyond_its_limit_is_refused_and_the_server_lives_on(double dt, double factor, string what, string setting)
    {
        var spec = Relay(Names.Unique("slow"));
        spec.Clock = Snn.Protos.V1.ClockMode.Realtime;
        spec.Dt = dt;
        spec.RealtimeFactor = factor;

        await Rpc.FailsAsync(StatusCode.InvalidArgument, () => Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }), what, setting);

        await Task.Delay(200); // the crash came from the loop's next wait, after CreateNetwork had answered
        await Rpc.FailsAsync(StatusCode.NotFound, () => Client.GetNetworkAsync(new GetNetworkRequest { Name = spec.Name }));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await Client.HealthCheckAsync().Within());
        var relay = Relay(Names.Unique("alive"));
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = relay }).Within();
        await using (var witness = await Client.OpenRunAsync(new RunOpen { Network = relay.Name }).Within())
        {
            await witness.StepAsync(Events("in", [1]));
            await witness.EndAsync();
        }

        await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = relay.Name }).Within();
    }

    /// <summary>
    /// A one-hour tick period is allowed: the network does not tick, and the loop does not block in one
    /// hour-long wait (before the fix it did, so no pass began for 5 s and health went NOT_SERVING).
    /// </summary>
    [Fact]
    public async Task An_hour_long_realtime_period_does_not_tick_and_leaves_the_loop_passing()
    {
        var spec = Relay(Names.Unique("hourly"));
        spec.Clock = Snn.Protos.V1.ClockMode.Realtime;
        spec.Dt = 1;
        spec.RealtimeFactor = 3600;
        var created = await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();
        Assert.Equal(3600, created.Clock.PeriodS);

        // Longer than the health check's 5 s "a pass has begun" window; nothing wakes the loop meanwhile.
        await Task.Delay(TimeSpan.FromSeconds(6));

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await Client.HealthCheckAsync().Within());
        var network = await Client.GetNetworkAsync(new GetNetworkRequest { Name = spec.Name }).Within();
        Assert.Equal(0UL, network.Clock.Ticks);
        Assert.Equal(0UL, network.Instances[0].Step);
        await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = spec.Name }).Within();
    }

    /// <summary>
    /// With a small Snn:Limits:MaxMemoryBytes, networks are created until the budget is spent; the next
    /// is RESOURCE_EXHAUSTED with what it needs and what is left, a huge one is refused before anything
    /// is allocated, and deleting a network gives its bytes back.
    /// </summary>
    [Fact]
    public async Task Networks_beyond_the_memory_budget_are_RESOURCE_EXHAUSTED_and_deleting_one_frees_its_share()
    {
        const long budget = 8L << 20;
        await using var host = await ServerHost.StartAsync(
            [.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "", "--Snn:Limits:MaxMemoryBytes", $"{budget}"]).Within();
        using var client = new SnnClient(host.Address);

        // in (input) → n (sinabs.IAF), 131,072 neurons each: about 3 MiB of buffers, weights and scratch.
        var created = new List<string>();
        RpcException? refused = null;
        string? refusedName = null;
        for (int i = 0; i < 10 && refused is null; i++)
        {
            var spec = Feed($"budget-{i}", "sinabs.IAF", 1 << 17);
            try
            {
                await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();
                created.Add(spec.Name);
            }
            catch (RpcException e)
            {
                refused = e;
                refusedName = spec.Name;
            }
        }

        Assert.True(refused is not null, $"{created.Count} networks of 131,072 neurons fit an 8 MiB budget");
        var info = await client.GetServerInfoAsync().Within();
        Assert.Equal((ulong)budget, info.Limits.MaxMemoryBytes);
        Assert.InRange(info.Usage.MemoryBytes, info.Usage.StateBytes + info.Usage.SynapseBytes + 1, (ulong)budget);
        Assert.NotEmpty(created);
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        foreach (var fragment in new[] { $"network '{refusedName}' needs ", " MiB; ", " of the 8.0 MiB budget (Snn:Limits:MaxMemoryBytes) is left; delete networks or raise the budget" })
        {
            Assert.Contains(fragment, refused.Status.Detail, StringComparison.Ordinal);
        }

        // A request for about 1 GiB of state is refused at once, not allocated.
        await Rpc.FailsAsync(StatusCode.ResourceExhausted,
            () => client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Feed("huge", "sinabs.IAF", 1 << 24, instances: 4) }),
            "network 'huge' needs 1.", " GiB; ", "Snn:Limits:MaxMemoryBytes");

        var listed = await client.ListNetworksAsync().Within();
        Assert.Equal(created.Order(StringComparer.Ordinal), listed.Networks.Select(n => n.Spec.Name));

        await client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = created[0] }).Within();
        Assert.True((await client.GetServerInfoAsync().Within()).Usage.MemoryBytes < info.Usage.MemoryBytes);
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Feed(refusedName!, "sinabs.IAF", 1 << 17) }).Within();
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await client.HealthCheckAsync().Within());
    }
}
