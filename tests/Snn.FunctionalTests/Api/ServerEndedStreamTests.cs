using Snn.Client;
using Grpc.Core;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Api;

/// <summary>
/// Streams that the server ends while the client could still send (bad input) are kept by Kestrel
/// for 5 s, up to twice the per-connection stream limit; beyond that it refuses the connection's
/// new calls (ENHANCE_YOUR_CALM). With the default limit of 100 a burst of 200 refusals broke the
/// connection; the server raises the limit to 1,024.
/// </summary>
public sealed class ServerEndedStreamTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    [Fact]
    public async Task Hundreds_of_streams_ended_by_the_server_leave_the_connection_usable()
    {
        using var client = server.CreateClient();
        var spec = new NetworkSpec { Name = Names.Unique("ended") };
        spec.Populations.Add(new PopulationSpec { Name = "in", Model = "input", Size = 2 });
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();

        for (int i = 0; i < 400; i++)
        {
            RunSession run;
            try
            {
                run = await client.OpenRunAsync(new RunOpen { Network = spec.Name }).Within();
            }
            catch (RpcException failure)
            {
                throw new InvalidOperationException($"opening stream {i} failed: {failure.StatusCode} {failure.Status.Detail}", failure);
            }

            await using var _ = run;
            await run.SendAsync(new RunRequest { Inputs = { new Input { Population = "nope", Indices = { 0 } } } }).Within();
            var e = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                while (await run.ReadAsync().Within() is not null)
                {
                }
            });
            Assert.Equal(StatusCode.NotFound, e.StatusCode);
        }

        // The connection still serves new calls and streams.
        Assert.NotEmpty((await client.GetServerInfoAsync().Within()).Models);
        await using var ok = await client.OpenRunAsync(new RunOpen { Network = spec.Name, SpikesFrom = { "in" } }).Within();
        await ok.AdvanceAsync(1, [new Input { Population = "in", Indices = { 1 } }]).Within();
        var response = await ok.ReadAsync().Within();
        Assert.NotNull(response);
        Assert.Equal([1u], response.Steps[0].Spikes[0].Indices);
        server.AssertNoErrorsLogged();
    }
}
