using Snn.FunctionalTests.Api;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Persistence;

/// <summary>What survives a restart: definitions as last set, deletions, and the automatic snapshots.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task Definitions_as_last_set_survive_SIGKILL_and_deleted_networks_stay_deleted()
    {
        await using var server = await PersistentServer.StartAsync();
        var client = server.Client;
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Feed("kept", "snntorch.Leaky", 3, 2, ("beta", Specs.Num(0.9))) }).Within();
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Feed("gone", "norse.LIF", 3) }).Within();
        var change = new SetParametersRequest { Network = "kept" };
        change.Populations.Add(new PopulationParameters { Population = "n", Params = { ["beta"] = Specs.Num(0.75) } });
        change.Projections.Add(new ProjectionWeights { Projection = "ff", Weights = { 0.5f, 1.5f, 2.5f } });
        await client.SetParametersAsync(change).Within();
        await client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = "gone" }).Within();
        var before = await client.GetNetworkAsync(new GetNetworkRequest { Name = "kept", IncludeWeights = true }).Within();

        await server.RestartAfterKillAsync();
        var networks = (await server.Client.ListNetworksAsync().Within()).Networks;
        Assert.Equal(["kept"], networks.Select(n => n.Spec.Name));
        var after = await server.Client.GetNetworkAsync(new GetNetworkRequest { Name = "kept", IncludeWeights = true }).Within();
        Assert.Equal(before.Spec, after.Spec);
        Assert.Equal(0.75, after.Spec.Populations[1].Params["beta"].Scalar);
        var recovery = (await server.Client.GetServerInfoAsync().Within()).Recovery;
        Assert.Equal(1u, recovery.Networks);
        Assert.Equal(0u, recovery.FromSnapshots); // no snapshot: fresh state
        Assert.All(after.Instances, i => Assert.Equal(0ul, i.Step));
    }

    [Fact]
    public async Task A_graceful_stop_snapshots_every_network_and_the_restart_continues_from_it()
    {
        await using var server = await PersistentServer.StartAsync();
        await server.Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Feed("live", "snntorch.Leaky", 3, 1, ("beta", Specs.Num(0.9))) }).Within();
        await using (var run = await server.Client.OpenRunAsync(new RunOpen { Network = "live" }).Within())
        {
            await run.AdvanceAsync(7).Within();
            await run.ReadStepsAsync(7);
            await run.EndAsync();
        }

        await server.StopAsync();
        await server.StartAsync();
        var network = await server.Client.GetNetworkAsync(new GetNetworkRequest { Name = "live" }).Within();
        Assert.Equal(7ul, network.Instances[0].Step);
        var snapshot = Assert.Single((await server.Client.ListSnapshotsAsync(new ListSnapshotsRequest { Network = "live" }).Within()).Snapshots);
        Assert.Equal(SnapshotOrigin.Shutdown, snapshot.Origin);
    }

    [Fact]
    public async Task Periodic_snapshots_replace_each_other()
    {
        await using var server = await PersistentServer.StartAsync("--Snn:Snapshots:Period", "00:00:00.200");
        await server.Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Feed("ticking", "snntorch.Leaky", 3, 1, ("beta", Specs.Num(0.9))) }).Within();
        var seen = new HashSet<ulong>();
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (seen.Count < 3 && DateTime.UtcNow < until)
        {
            var snapshots = (await server.Client.ListSnapshotsAsync(new ListSnapshotsRequest { Network = "ticking" }).Within()).Snapshots;
            Assert.True(snapshots.Count <= 1, $"{snapshots.Count} periodic snapshots kept; the newest replaces the others");
            if (snapshots.Count == 1)
            {
                Assert.Equal(SnapshotOrigin.Periodic, snapshots[0].Origin);
                seen.Add(snapshots[0].Id);
            }

            await Task.Delay(50);
        }

        Assert.True(seen.Count >= 3, $"only {seen.Count} periodic snapshots in 30 s at a 200 ms period");
    }
}
