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
            [.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "", "--Snn:Engine:Backend=ilgpu-cpu", "--Snn:Engine:CpuBelowNeurons=0"]).Within();
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
        Assert.Equal("on the device", (await client.GetNetworkAsync(new GetNetworkRequest { Name = "dev" }).Within()).StepsOn);
        await run.EndAsync();
    }

    [Fact]
    public async Task GetState_on_the_device_backend_reads_what_the_cpu_backend_reads()
    {
        // GetState copies back what it reads alone (those variables of that instance, over those neurons): it must
        // read the same as a CPU-backend server, whichever neurons it names, while the other instances stepped too.
        var answers = new List<string>();
        foreach (var backend in new[] { "ilgpu-cpu", "cpu" })
        {
            await using var host = await ServerHost.StartAsync(
                [.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "", $"--Snn:Engine:Backend={backend}", "--Snn:Engine:CpuBelowNeurons=0"]).Within();
            using var client = new SnnClient(host.Address);
            var spec = Specs.Feed("dev", "snntorch.Synaptic", 8, 3, ("alpha", Specs.Num(0.8)), ("beta", Specs.Num(0.9)));
            await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();
            for (uint instance = 0; instance < 3; instance++)
            {
                await using var run = await client.OpenRunAsync(new RunOpen { Network = "dev", Instance = instance }).Within();
                for (uint k = 0; k < 4 + instance; k++)
                {
                    await run.StepAsync(Specs.Events("in", [k % 8, (k + instance) % 8], [1.25f + instance, 0.5f]));
                }

                await run.EndAsync();
            }

            Assert.Equal(backend == "cpu" ? "on the CPU backend" : "on the device",
                (await client.GetNetworkAsync(new GetNetworkRequest { Name = "dev" }).Within()).StepsOn);
            var text = new List<string>();
            foreach (uint[] neurons in new[] { Array.Empty<uint>(), [6, 2], [7] })
            {
                var state = await client.GetStateAsync(new GetStateRequest { Network = "dev", Instance = 1, Population = "n", Neurons = { neurons } }).Within();
                text.Add($"{state.Step}: " + string.Join("; ", state.Variables.Select(v => $"{v.Variable} {string.Join(",", v.Values.Select(x => BitConverter.SingleToInt32Bits(x)))}")));
            }

            answers.Add(string.Join(" | ", text));
        }

        Assert.Equal(answers[1], answers[0]);
        Assert.Contains("5: syn", answers[0], StringComparison.Ordinal);
    }
}
