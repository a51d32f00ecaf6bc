using Snn.Client;
using Snn.FunctionalTests.Api;
using Snn.FunctionalTests.Infrastructure;
using Snn.Protos.V1;
using Snn.Server;

namespace Snn.FunctionalTests.Persistence;

/// <summary>
/// Snapshots on the device backend (ILGPU's CPU accelerator, which runs the device kernels here): state
/// and delay lines live on the device, so taking a snapshot copies them back and restoring uploads them.
/// </summary>
public sealed class DeviceSnapshotTests
{
    [Fact]
    public async Task Restoring_on_the_device_backend_repeats_the_same_steps()
    {
        await using var host = await ServerHost.StartAsync(
            [.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "", "--Snn:Engine:Backend=ilgpu-cpu"]).Within();
        using var client = new SnnClient(host.Address);
        var spec = Specs.Feed("dev", "snntorch.Synaptic", 8, 1, ("alpha", Specs.Num(0.8)), ("beta", Specs.Num(0.9)));
        spec.Projections[0].DelaySteps = 2;
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();
        await using var run = await client.OpenRunAsync(new RunOpen { Network = "dev", Record = { new RecordSpec { Population = "n", Variables = { "*" } } } }).Within();
        for (uint k = 0; k < 5; k++)
        {
            await run.StepAsync(Specs.Events("in", [k, k + 1], [1.5f, 0.75f]));
        }

        var snapshot = await client.SaveSnapshotAsync(new SaveSnapshotRequest { Network = "dev" }).Within();
        var first = new List<StepOutput>();
        for (uint k = 0; k < 4; k++)
        {
            first.Add(await run.StepAsync(Specs.Events("in", [k], [2f])));
        }

        await client.RestoreSnapshotAsync(new RestoreSnapshotRequest { Network = "dev", Snapshot = snapshot.Id }).Within();
        for (uint k = 0; k < 4; k++)
        {
            Assert.Equal(first[(int)k], await run.StepAsync(Specs.Events("in", [k], [2f])));
        }

        Assert.Contains(first, s => s.Spikes.Count > 0);
        await run.EndAsync();
    }
}
