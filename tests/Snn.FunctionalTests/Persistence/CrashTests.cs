using Grpc.Core;
using Snn.Client;
using Snn.FunctionalTests.Api;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Persistence;

/// <summary>
/// SIGKILL at random moments while clients create and delete networks, change parameters, stream and
/// take snapshots, 20 times, restarting each time. After every kill the database passes
/// <c>PRAGMA integrity_check</c>; after every restart every acknowledged definition and snapshot is there
/// and restorable, and whatever was in flight is either wholly there or wholly absent.
/// </summary>
public sealed class CrashTests
{
    private const int Rounds = 20;

    [Fact]
    public async Task SIGKILL_at_random_moments_keeps_everything_acknowledged_and_nothing_half_written()
    {
        var random = new Random(20261126);
        await using var server = await PersistentServer.StartAsync();
        var ledger = new Ledger();
        await server.Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Feed("p", "snntorch.Leaky", 16, 1, ("beta", Specs.Num(0.5))) }).Within();
        await server.Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Feed("s", "snntorch.Synaptic", 20_000, 2,
            ("alpha", Specs.Num(0.8)), ("beta", Specs.Num(0.9))) }).Within();
        ledger.Parameter = 0.5f;

        for (int round = 0; round < Rounds; round++)
        {
            using var stop = new CancellationTokenSource();
            var client = server.Client;
            var work = Task.WhenAll(
                Quietly(() => CreateAndDeleteAsync(client, ledger, round, stop.Token)),
                Quietly(() => SetParametersAsync(client, ledger, stop.Token)),
                Quietly(() => StreamAsync(client, stop.Token)),
                Quietly(() => SnapshotAsync(client, ledger, stop.Token)));
            await Task.Delay(random.Next(30, 600));
            server.Kill();
            await stop.CancelAsync();
            await work.WaitAsync(TimeSpan.FromSeconds(30));

            using (var db = server.OpenDatabase())
            {
                Assert.Equal("ok", PersistentServer.IntegrityCheck(db));
            }

            await server.StartAsync();
            await VerifyAsync(server.Client, ledger, round);
        }

        Assert.True(ledger.Created > 0 && ledger.SnapshotsTaken > 0 && ledger.ParameterChanges > 0,
            $"the workload did too little to test: {ledger.Created} creates, {ledger.SnapshotsTaken} snapshots, {ledger.ParameterChanges} parameter changes");
    }

    /// <summary>What the clients know: acknowledged changes, and the one change of each kind that may be in flight.</summary>
    private sealed class Ledger
    {
        public readonly Dictionary<string, float> Networks = new(StringComparer.Ordinal);
        public string? CreatePending;
        public string? DeletePending;
        public int Created;

        public float Parameter;
        public float? ParameterPending;
        public int ParameterChanges;

        public readonly HashSet<ulong> Snapshots = [];
        public bool SnapshotPending;
        public ulong? SnapshotDeletePending;
        public int SnapshotsTaken;
    }

    private static async Task CreateAndDeleteAsync(SnnClient client, Ledger ledger, int round, CancellationToken stop)
    {
        for (int k = 0; !stop.IsCancellationRequested; k++)
        {
            if (ledger.Networks.Count >= 6)
            {
                string victim = ledger.Networks.Keys.Order(StringComparer.Ordinal).First();
                ledger.DeletePending = victim;
                await client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = victim }, new CallOptions(cancellationToken: stop));
                ledger.Networks.Remove(victim);
                ledger.DeletePending = null;
            }

            string name = $"c{round:00}-{k:000}";
            float beta = 0.5f + (round * 100 + k % 100) * 1e-4f;
            ledger.CreatePending = name;
            await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Feed(name, "snntorch.Leaky", 64, 1, ("beta", Specs.Num(beta))) },
                new CallOptions(cancellationToken: stop));
            ledger.Networks[name] = beta;
            ledger.CreatePending = null;
            ledger.Created++;
        }
    }

    /// <summary>Sets p's beta and its projection's weights to one value in one request (all or nothing).</summary>
    private static async Task SetParametersAsync(SnnClient client, Ledger ledger, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            float value = ledger.Parameter >= 0.9f ? 0.5f : ledger.Parameter + 1e-3f;
            ledger.ParameterPending = value;
            var request = new SetParametersRequest { Network = "p" };
            request.Populations.Add(new PopulationParameters { Population = "n", Params = { ["beta"] = Specs.Num(value) } });
            request.Projections.Add(new ProjectionWeights { Projection = "ff", Weights = { Enumerable.Repeat(value, 16) } });
            await client.SetParametersAsync(request, new CallOptions(cancellationToken: stop));
            ledger.Parameter = value;
            ledger.ParameterPending = null;
            ledger.ParameterChanges++;
        }
    }

    private static async Task StreamAsync(SnnClient client, CancellationToken stop)
    {
        await using var run = await client.OpenRunAsync(new RunOpen { Network = "s", Instance = 1 }, new CallOptions(cancellationToken: stop));
        while (!stop.IsCancellationRequested)
        {
            await run.AdvanceAsync(5, [Specs.Events("in", [0, 7, 19_999])], stop);
            for (int steps = 0; steps < 5;)
            {
                var response = await run.ReadAsync(stop);
                if (response is null)
                {
                    return;
                }

                steps += response.Steps.Count;
            }
        }
    }

    /// <summary>Snapshots s (all instances), keeping at most four: the oldest is deleted.</summary>
    private static async Task SnapshotAsync(SnnClient client, Ledger ledger, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            if (ledger.Snapshots.Count >= 4)
            {
                ulong oldest = ledger.Snapshots.Min();
                ledger.SnapshotDeletePending = oldest;
                await client.DeleteSnapshotAsync(new DeleteSnapshotRequest { Network = "s", Snapshot = oldest }, new CallOptions(cancellationToken: stop));
                ledger.Snapshots.Remove(oldest);
                ledger.SnapshotDeletePending = null;
            }

            ledger.SnapshotPending = true;
            var snapshot = await client.SaveSnapshotAsync(new SaveSnapshotRequest { Network = "s" }, new CallOptions(cancellationToken: stop));
            ledger.Snapshots.Add(snapshot.Id);
            ledger.SnapshotPending = false;
            ledger.SnapshotsTaken++;
        }
    }

    /// <summary>Runs a client until the kill ends it; the failures the kill causes are expected.</summary>
    private static async Task Quietly(Func<Task> work)
    {
        try
        {
            await work();
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The server died under the call.
        }
    }

    private static async Task VerifyAsync(SnnClient client, Ledger ledger, int round)
    {
        var recovery = (await client.GetServerInfoAsync().Within()).Recovery;
        Assert.True(recovery.Failures.Count == 0, $"round {round}: recovery left out {string.Join("; ", recovery.Failures.Select(f => $"{f.Network}: {f.Reason}"))}");

        // Networks: every acknowledged one, as created; others only the one in flight.
        var names = (await client.ListNetworksAsync().Within()).Networks.Select(n => n.Spec.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, beta) in ledger.Networks)
        {
            Assert.True(names.Contains(name) || name == ledger.DeletePending, $"round {round}: acknowledged network {name} is gone");
            if (names.Contains(name))
            {
                var spec = (await client.GetNetworkAsync(new GetNetworkRequest { Name = name }).Within()).Spec;
                Assert.Equal(beta, (float)spec.Populations[1].Params["beta"].Scalar);
            }
        }

        foreach (var name in names.Where(n => n.StartsWith('c')))
        {
            Assert.True(ledger.Networks.ContainsKey(name) || name == ledger.CreatePending, $"round {round}: network {name} was never acknowledged");
            if (!ledger.Networks.ContainsKey(name))
            {
                ledger.Networks[name] = 0.5f + (round * 100 + int.Parse(name[4..], System.Globalization.CultureInfo.InvariantCulture) % 100) * 1e-4f;
            }
        }

        if (ledger.DeletePending is { } deleted && !names.Contains(deleted))
        {
            ledger.Networks.Remove(deleted);
        }

        ledger.CreatePending = ledger.DeletePending = null;

        // p: beta and the weights of the same request, the last acknowledged value or the one in flight.
        var p = (await client.GetNetworkAsync(new GetNetworkRequest { Name = "p", IncludeWeights = true }).Within()).Spec;
        float stored = (float)p.Populations[1].Params["beta"].Scalar;
        Assert.True(stored == ledger.Parameter || stored == ledger.ParameterPending,
            $"round {round}: p's beta is {stored}; acknowledged {ledger.Parameter}, in flight {ledger.ParameterPending}");
        Assert.All(p.Projections[0].OneToOne.Weights, w => Assert.Equal(stored, w));
        ledger.Parameter = stored;
        ledger.ParameterPending = null;

        // Snapshots: every acknowledged one, restorable; others only the one in flight.
        var listed = (await client.ListSnapshotsAsync(new ListSnapshotsRequest { Network = "s" }).Within()).Snapshots.Select(s => s.Id).ToList();
        foreach (ulong id in ledger.Snapshots)
        {
            Assert.True(listed.Contains(id) || id == ledger.SnapshotDeletePending, $"round {round}: acknowledged snapshot {id} is gone");
        }

        var unacknowledged = listed.Where(id => !ledger.Snapshots.Contains(id)).ToList();
        Assert.True(unacknowledged.Count <= (ledger.SnapshotPending ? 1 : 0), $"round {round}: snapshots {string.Join(", ", unacknowledged)} were never acknowledged");
        foreach (ulong id in listed)
        {
            await client.RestoreSnapshotAsync(new RestoreSnapshotRequest { Network = "s", Snapshot = id }).Within();
        }

        ledger.Snapshots.Clear();
        ledger.Snapshots.UnionWith(listed);
        ledger.SnapshotPending = false;
        ledger.SnapshotDeletePending = null;
    }
}
