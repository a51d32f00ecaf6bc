using Snn.Grpc;
using Snn.Protos.V1;
using static Snn.FunctionalTests.Api.Specs;

namespace Snn.FunctionalTests.Api;

public sealed class TmpRaceProbe(ApiServerFixture server) : ApiTest(server)
{
    [Fact]
    public async Task Probe()
    {
        var codes = new Dictionary<string, int>();
        for (int i = 0; i < 300; i++)
        {
            var spec = Relay(Names.Unique("race"), instances: 4);
            try { await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within(); }
            catch (RpcException e) { Assert.Fail($"iteration {i}: {e.StatusCode}; so far: " + string.Join("; ", codes.Select(kv => kv.Key + " x" + kv.Value))); }
            var runs = new List<Snn.Client.RunSession>();
            for (uint k = 0; k < 4; k++) runs.Add(await Client.OpenRunAsync(new RunOpen { Network = spec.Name, Instance = k }).Within());
            await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = spec.Name }).Within();
            foreach (var r in runs)
            {
                try { while (await r.ReadAsync().Within() is not null) { } codes["OK"] = codes.GetValueOrDefault("OK") + 1; }
                catch (RpcException e) { var key = e.StatusCode + ": " + e.Status.Detail; codes[key] = codes.GetValueOrDefault(key) + 1; }
                await r.DisposeAsync();
            }
        }
        Assert.Fail(string.Join("\n", codes.Select(kv => kv.Key + " x" + kv.Value)));
    }
}
