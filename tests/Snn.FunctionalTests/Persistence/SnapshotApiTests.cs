using Grpc.Core;
using Snn.Client;
using Snn.FunctionalTests.Api;
using Snn.FunctionalTests.Infrastructure;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Persistence;

/// <summary>The snapshot RPCs on a real server: save, list, restore, delete, fork, and their refusals.</summary>
public sealed class SnapshotApiTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private SnnClient Client { get; } = server.CreateClient();

    [Fact]
    public async Task Restore_puts_an_instance_back_to_the_snapshot_and_it_steps_the_same_again()
    {
        string name = Names.Unique("snap");
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Feed(name, "snntorch.Leaky", 4, 2, ("beta", Specs.Num(0.9))) }).Within();
        await using var run = await Client.OpenRunAsync(new RunOpen { Network = name, Instance = 1, Record = { new RecordSpec { Population = "n", Variables = { "*" } } } }).Within();
        for (int i = 0; i < 3; i++)
        {
            await run.StepAsync(Specs.Events("in", [0, 2], [0.7f, 0.4f]));
        }

        var snapshot = await Client.SaveSnapshotAsync(new SaveSnapshotRequest { Network = name, Instance = 1 }).Within();
        Assert.Equal(3ul, snapshot.Step);
        Assert.Equal(1u, snapshot.Instance);
        Assert.Equal(SnapshotOrigin.Manual, snapshot.Origin);
        Assert.True(snapshot.Bytes > 0);
        var first = await run.StepAsync(Specs.Events("in", [1], [0.9f]));
        await run.StepAsync(Specs.Events("in", [3], [0.9f]));

        var restored = await Client.RestoreSnapshotAsync(new RestoreSnapshotRequest { Network = name, Snapshot = snapshot.Id }).Within();
        Assert.Equal(snapshot, restored.Snapshot);
        var again = await run.StepAsync(Specs.Events("in", [1], [0.9f]));
        Assert.Equal(first, again);

        var listed = (await Client.ListSnapshotsAsync(new ListSnapshotsRequest { Network = name }).Within()).Snapshots;
        Assert.Equal([snapshot], listed);
        await Client.DeleteSnapshotAsync(new DeleteSnapshotRequest { Network = name, Snapshot = snapshot.Id }).Within();
        Assert.Empty((await Client.ListSnapshotsAsync(new ListSnapshotsRequest { Network = name }).Within()).Snapshots);
        await run.EndAsync();
    }

    [Fact]
    public async Task Fork_makes_a_new_network_with_the_snapshots_state()
    {
        string name = Names.Unique("orig");
        string fork = Names.Unique("fork");
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Feed(name, "snntorch.Leaky", 4, 1, ("beta", Specs.Num(0.8))) }).Within();
        await using (var run = await Client.OpenRunAsync(new RunOpen { Network = name }).Within())
        {
            await run.StepAsync(Specs.Events("in", [0, 1, 2, 3], [0.6f, 0.5f, 0.4f, 0.3f]));
            await run.EndAsync();
        }

        var snapshot = await Client.SaveSnapshotAsync(new SaveSnapshotRequest { Network = name }).Within();
        var forked = await Client.ForkNetworkAsync(new ForkNetworkRequest { Network = name, Snapshot = snapshot.Id, Name = fork }).Within();
        Assert.Equal(fork, forked.Spec.Name);
        Assert.Equal(1ul, forked.Instances[0].Step);
        var original = await Client.GetStateAsync(new GetStateRequest { Network = name, Population = "n" }).Within();
        var copy = await Client.GetStateAsync(new GetStateRequest { Network = fork, Population = "n" }).Within();
        Assert.Equal(original.Variables, copy.Variables);
        Assert.Single((await Client.ListSnapshotsAsync(new ListSnapshotsRequest { Network = fork }).Within()).Snapshots);

        await Rpc.FailsAsync(StatusCode.AlreadyExists, () => Client.ForkNetworkAsync(new ForkNetworkRequest { Network = name, Snapshot = snapshot.Id, Name = fork }), fork);
    }

    [Fact]
    public async Task Refusals_name_what_is_wrong()
    {
        string name = Names.Unique("bad");
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Feed(name, "snntorch.Leaky", 2, 1, ("beta", Specs.Num(0.9))) }).Within();
        await Rpc.FailsAsync(StatusCode.NotFound, () => Client.SaveSnapshotAsync(new SaveSnapshotRequest { Network = "nope" }), "nope");
        await Rpc.FailsAsync(StatusCode.NotFound, () => Client.SaveSnapshotAsync(new SaveSnapshotRequest { Network = name, Instance = 3 }), "instance 3");
        await Rpc.FailsAsync(StatusCode.NotFound, () => Client.RestoreSnapshotAsync(new RestoreSnapshotRequest { Network = name, Snapshot = 999_999 }), "no snapshot 999999");
        await Rpc.FailsAsync(StatusCode.NotFound, () => Client.DeleteSnapshotAsync(new DeleteSnapshotRequest { Network = name, Snapshot = 999_999 }), "no snapshot 999999");
        await Rpc.FailsAsync(StatusCode.InvalidArgument, () => Client.ForkNetworkAsync(new ForkNetworkRequest { Network = name, Snapshot = 1 }), "name '' is not a valid name");

        // Another network's snapshot is not this network's.
        string other = Names.Unique("other");
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Feed(other, "snntorch.Leaky", 2, 1, ("beta", Specs.Num(0.9))) }).Within();
        var theirs = await Client.SaveSnapshotAsync(new SaveSnapshotRequest { Network = other }).Within();
        await Rpc.FailsAsync(StatusCode.NotFound, () => Client.RestoreSnapshotAsync(new RestoreSnapshotRequest { Network = name, Snapshot = theirs.Id }), name);
    }
}
