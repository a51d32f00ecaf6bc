using Snn.Grpc;
using Snn.Protos.V1;
using static Snn.FunctionalTests.Api.Specs;

namespace Snn.FunctionalTests.Api;

public sealed class TmpRaceProbe(ApiServerFixture server) : ApiTest(server)
{
    [Theory]
        [InlineData("bad-input", true)]
        public async Task Probe(string how, bool complete)
    {
        var spec = Relay(Names.Unique("race"), instances: 1);
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();
        for (int i = 0; i < 400; i++)
        {
            if (i == 150 && complete) { await Task.Delay(15000); }
            try
            {
                if (how == "bad-open")
                {
                    await Assert.ThrowsAsync<RpcException>(() => Client.OpenRunAsync(new RunOpen { Network = "nope" }).Within());
                    continue;
                }
                await using var r = await Client.OpenRunAsync(new RunOpen { Network = spec.Name }).Within();
                if (how == "ok-end") { await r.EndAsync(); continue; }
                await r.SendAsync(new RunRequest { Inputs = { Events("nope", [0]) }, Advance = 1 }).Within();
                await Assert.ThrowsAsync<RpcException>(async () => { while (await r.ReadAsync().Within() is not null) { } });
                if (complete) await r.CompleteAsync();
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"iteration {i}: {e.Message}");
            }
        }
    }
}
