using Microsoft.Data.Sqlite;
using Snn.FunctionalTests.Api;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Persistence;

/// <summary>
/// Damaged data: one network's definition blob is altered (its checksum fails) and a database page of
/// another's is overwritten with garbage. The server still starts, reports both networks as left out,
/// and serves the third.
/// </summary>
public sealed class CorruptionTests
{
    private const int Side = 64;

    [Fact]
    public async Task A_damaged_blob_and_a_damaged_page_are_reported_and_the_rest_is_served()
    {
        await using var server = await PersistentServer.StartAsync();
        var bWeights = Enumerable.Range(0, Side * Side).Select(i => 7f + i * 1e-3f).ToArray();
        await server.Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Dense("a", Enumerable.Repeat(0.25f, Side * Side).ToArray()) }).Within();
        await server.Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Dense("b", bWeights) }).Within();
        await server.Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Dense("c", Enumerable.Repeat(0.5f, Side * Side).ToArray()) }).Within();
        foreach (var name in new[] { "a", "b", "c" })
        {
            await server.Client.SaveSnapshotAsync(new SaveSnapshotRequest { Network = name }).Within();
        }

        await server.StopAsync();

        // A blob: one byte of a's definition changes (SQLite sees a valid row; only the checksum can tell).
        using (var db = server.OpenDatabase())
        {
            Exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
            Exec(db, "UPDATE blob_chunks SET data = CAST(substr(data, 1, 100) || X'5A' || substr(data, 102) AS BLOB) " +
                "WHERE blob = (SELECT spec FROM networks WHERE name = 'a') AND seq = 0");
            Assert.Equal("ok", PersistentServer.IntegrityCheck(db));
        }

        // A page: the one holding the middle of b's weights is overwritten with garbage.
        var file = await File.ReadAllBytesAsync(server.Database);
        int pageSize = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(file.AsSpan(16)) is var p and > 1 ? p : 65536;
        var marker = System.Runtime.InteropServices.MemoryMarshal.AsBytes(bWeights.AsSpan(Side * Side / 2, 8)).ToArray();
        int at = file.AsSpan().IndexOf(marker);
        Assert.True(at > 0, "b's weights are not in the database file");
        Assert.Equal(-1, file.AsSpan(at + 1).IndexOf(marker)); // one copy: the page is b's alone
        int page = at / pageSize;
        new Random(5).NextBytes(file.AsSpan(page * pageSize, pageSize));
        await File.WriteAllBytesAsync(server.Database, file);

        await server.StartAsync();
        var recovery = (await server.Client.GetServerInfoAsync().Within()).Recovery;
        Assert.True(recovery.Networks == 1, $"{recovery}\n{server.Tail()}");
        Assert.Equal(1u, recovery.FromSnapshots);
        var failures = recovery.Failures.ToDictionary(f => f.Network, f => f.Reason);
        Assert.Equal(["a", "b"], failures.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("checksum", failures["a"], StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(failures["b"]));

        var served = (await server.Client.ListNetworksAsync().Within()).Networks.Select(n => n.Spec.Name);
        Assert.Equal(["c"], served);
        await using var run = await server.Client.OpenRunAsync(new RunOpen { Network = "c" }).Within();
        var step = await run.StepAsync(Specs.Events("in", [0, 1]));
        Assert.Equal(0ul, step.Step); // the shutdown snapshot of c was at step 0
        Assert.Contains("not restored", server.Tail(), StringComparison.Ordinal);

        // A network created under a left-out name replaces the stored one, old snapshots and all.
        await server.Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Dense("a", Enumerable.Repeat(0.1f, Side * Side).ToArray()) }).Within();
        Assert.Empty((await server.Client.ListSnapshotsAsync(new ListSnapshotsRequest { Network = "a" }).Within()).Snapshots);
    }

    private static NetworkSpec Dense(string name, float[] weights) => new()
    {
        Name = name,
        Populations = { Specs.Population("in", "input", Side), Specs.Population("n", "snntorch.Leaky", Side, ("beta", Specs.Num(0.9))) },
        Projections = { Specs.Dense("ff", "in", "n", weights) },
    };

    private static void Exec(SqliteConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
