using Grpc.Core;
using Grpc.Health.V1;
using Snn.Protos.V1;
using static Snn.FunctionalTests.Api.Specs;

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
}
