using Microsoft.Data.Sqlite;
using Snn.Server.Storage;

namespace Snn.Server.Tests.Storage;

/// <summary>The SQLite store on its own: round trips, chunking, checksums, cascades, the directory lock.</summary>
public sealed class SqliteNetworkStoreTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("snn-store-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static SnapshotRecord Record(string network, SnapshotOrigin origin = SnapshotOrigin.Manual) =>
        new(0, network, null, 5, DateTimeOffset.UtcNow, 0, origin, SnapshotCodec.None);

    [Fact]
    public async Task A_payload_larger_than_a_chunk_round_trips()
    {
        using var store = new SqliteNetworkStore(_directory);
        var spec = Bytes(SqliteBlobs.ChunkBytes * 3 + 17, 1);
        await store.PutNetworkAsync("n", spec, created: true);
        Assert.Equal(spec, await store.ReadNetworkAsync("n"));
        Assert.Equal(["n"], await store.ListNetworksAsync());
        Assert.Equal(4L, Count(store, "SELECT COUNT(*) FROM blob_chunks"));
        Assert.Null(await store.ReadNetworkAsync("other"));
    }

    [Fact]
    public async Task A_changed_byte_fails_the_checksum()
    {
        using (var store = new SqliteNetworkStore(_directory))
        {
            await store.PutNetworkAsync("n", Bytes(1000, 2), created: true);
        }

        Exec("UPDATE blob_chunks SET data = zeroblob(1000)");
        using var reopened = new SqliteNetworkStore(_directory);
        var e = await Assert.ThrowsAsync<StoreCorruptException>(() => reopened.ReadNetworkAsync("n"));
        Assert.Contains("checksum", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replacing_and_deleting_leave_no_orphan_data()
    {
        using var store = new SqliteNetworkStore(_directory);
        await store.PutNetworkAsync("n", Bytes(100, 3), created: true);
        await store.PutNetworkAsync("n", Bytes(200, 4), created: false);
        var manual = await store.PutSnapshotAsync(Record("n"), Bytes(300, 5), replaceAutomatic: false);
        await store.PutSnapshotAsync(Record("n", SnapshotOrigin.Periodic), Bytes(300, 6), replaceAutomatic: true);
        var latest = await store.PutSnapshotAsync(Record("n", SnapshotOrigin.Shutdown), Bytes(300, 7), replaceAutomatic: true);
        Assert.Equal([manual!.Id, latest!.Id], (await store.ListSnapshotsAsync("n")).Select(s => s.Id));
        Assert.Equal(Bytes(300, 7), await store.ReadSnapshotAsync(latest.Id));
        Assert.Equal(3L, Count(store, "SELECT COUNT(*) FROM blobs"));

        Assert.True(await store.DeleteNetworkAsync("n"));
        Assert.False(await store.DeleteNetworkAsync("n"));
        Assert.Equal(0L, Count(store, "SELECT COUNT(*) FROM blobs") + Count(store, "SELECT COUNT(*) FROM blob_chunks") + Count(store, "SELECT COUNT(*) FROM snapshots"));
        Assert.Null(await store.PutSnapshotAsync(Record("n"), Bytes(10, 8), replaceAutomatic: false)); // not stored any more
    }

    [Fact]
    public async Task Creating_a_network_again_drops_the_old_ones_snapshots()
    {
        using var store = new SqliteNetworkStore(_directory);
        await store.PutNetworkAsync("n", Bytes(100, 3), created: true);
        await store.PutSnapshotAsync(Record("n"), Bytes(300, 5), replaceAutomatic: false);
        await store.PutNetworkAsync("n", Bytes(100, 4), created: true);
        Assert.Empty(await store.ListSnapshotsAsync("n"));
    }

    [Fact]
    public void A_second_store_on_the_same_directory_is_refused()
    {
        using var store = new SqliteNetworkStore(_directory);
        var e = Assert.Throws<InvalidOperationException>(() => new SqliteNetworkStore(_directory));
        Assert.Contains("in use by another server", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_database_is_in_WAL_mode()
    {
        using (new SqliteNetworkStore(_directory))
        {
        }

        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string)command.ExecuteScalar()!);
    }

    private long Count(SqliteNetworkStore store, string sql)
    {
        _ = store; // the store keeps its connection; a second one reads the committed state
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    private void Exec(string sql)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(_directory, SqliteNetworkStore.FileName), Pooling = false }.ToString());
        connection.Open();
        return connection;
    }
}
