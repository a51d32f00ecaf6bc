using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Snn.Server.Storage;

/// <summary>
/// The embedded store: <c>snn.db</c> in the data directory, SQLite in WAL mode with
/// <c>synchronous=FULL</c>. In WAL mode, NORMAL already survives a crash of the process (a commit is
/// in the WAL, in the OS's cache, before it returns) but may lose the last commits on power loss or an
/// OS crash, because the WAL is synced only at checkpoints. FULL syncs the WAL at every commit, so an
/// answered CreateNetwork, SetParameters, DeleteNetwork or SaveSnapshot survives those too; it costs one
/// fsync per change, and those are control-plane calls, never per step.
/// </summary>
/// <remarks>
/// One connection, used by one caller at a time (a semaphore), so transactions never interleave. The
/// data directory is locked (<c>snn.lock</c>, an exclusive lock the OS drops when the process dies) so
/// two servers never share a database.
/// </remarks>
internal sealed class SqliteNetworkStore : INetworkStore
{
    public const string FileName = "snn.db";

    private const int SchemaVersion = 1;

    private readonly SqliteConnection _connection;

    private readonly SemaphoreSlim _gate = new(1, 1);

    private readonly FileStream _lock;

    public SqliteNetworkStore(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        string lockPath = Path.Combine(dataDirectory, "snn.lock");
        try
        {
            _lock = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException(
                $"the data directory {dataDirectory} is in use by another server ({lockPath} is locked); give each server its own Snn:DataDirectory", e);
        }

        Location = Path.Combine(dataDirectory, FileName);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Location, Pooling = false }.ToString());
        try
        {
            _connection.Open();
            Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
            Execute(SqliteBlobs.Schema + """
                CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS networks(
                    name TEXT PRIMARY KEY,
                    spec INTEGER NOT NULL,
                    updated TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS snapshots(
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    network TEXT NOT NULL REFERENCES networks(name) ON DELETE CASCADE,
                    instance INTEGER,
                    step INTEGER NOT NULL,
                    created TEXT NOT NULL,
                    origin INTEGER NOT NULL,
                    compression TEXT NOT NULL,
                    bytes INTEGER NOT NULL,
                    payload INTEGER NOT NULL);
                CREATE INDEX IF NOT EXISTS snapshots_network ON snapshots(network, id);
                """);
            CheckSchemaVersion();
        }
        catch
        {
            _connection.Dispose();
            _lock.Dispose();
            throw;
        }
    }

    public string Location { get; }

    public Task PutNetworkAsync(string name, ReadOnlyMemory<byte> spec, bool created, CancellationToken cancellationToken = default) =>
        InTransactionAsync(tx =>
        {
            if (created)
            {
                var stale = Column(tx, "SELECT payload FROM snapshots WHERE network = $name", ("$name", name));
                Run(tx, "DELETE FROM snapshots WHERE network = $name", ("$name", name));
                SqliteBlobs.Delete(_connection, tx, stale);
            }

            var old = Scalar(tx, "SELECT spec FROM networks WHERE name = $name", ("$name", name));
            long blob = SqliteBlobs.Write(_connection, tx, spec.Span);
            Run(tx, "INSERT INTO networks(name, spec, updated) VALUES ($name, $spec, $updated) " +
                "ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, updated = excluded.updated",
                ("$name", name), ("$spec", blob), ("$updated", Now()));
            if (old is long oldBlob)
            {
                SqliteBlobs.Delete(_connection, tx, [oldBlob]);
            }

            return true;
        }, cancellationToken);

    public Task<bool> DeleteNetworkAsync(string name, CancellationToken cancellationToken = default) =>
        InTransactionAsync(tx =>
        {
            if (Scalar(tx, "SELECT spec FROM networks WHERE name = $name", ("$name", name)) is not long spec)
            {
                return false;
            }

            var blobs = Column(tx, "SELECT payload FROM snapshots WHERE network = $name", ("$name", name));
            blobs.Add(spec);
            Run(tx, "DELETE FROM snapshots WHERE network = $name", ("$name", name));
            Run(tx, "DELETE FROM networks WHERE name = $name", ("$name", name));
            SqliteBlobs.Delete(_connection, tx, blobs);
            return true;
        }, cancellationToken);

    public Task<IReadOnlyList<string>> ListNetworksAsync(CancellationToken cancellationToken = default) =>
        LockedAsync<IReadOnlyList<string>>(() =>
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT name FROM networks ORDER BY name";
            using var reader = command.ExecuteReader();
            var names = new List<string>();
            while (reader.Read())
            {
                names.Add(reader.GetString(0));
            }

            return names;
        }, cancellationToken);

    public Task<byte[]?> ReadNetworkAsync(string name, CancellationToken cancellationToken = default) =>
        LockedAsync(() => Scalar(null, "SELECT spec FROM networks WHERE name = $name", ("$name", name)) is long blob
            ? SqliteBlobs.Read(_connection, blob, $"the definition of network '{name}'")
            : null, cancellationToken);

    public Task<SnapshotRecord?> PutSnapshotAsync(SnapshotRecord snapshot, ReadOnlyMemory<byte> payload, bool replaceAutomatic,
        CancellationToken cancellationToken = default) =>
        InTransactionAsync<SnapshotRecord?>(tx =>
        {
            if (Scalar(tx, "SELECT 1 FROM networks WHERE name = $name", ("$name", snapshot.Network)) is null)
            {
                return null;
            }

            var replaced = new List<long>();
            if (replaceAutomatic)
            {
                replaced = Column(tx, "SELECT payload FROM snapshots WHERE network = $name AND origin <> $manual",
                    ("$name", snapshot.Network), ("$manual", (int)SnapshotOrigin.Manual));
                Run(tx, "DELETE FROM snapshots WHERE network = $name AND origin <> $manual",
                    ("$name", snapshot.Network), ("$manual", (int)SnapshotOrigin.Manual));
                SqliteBlobs.Delete(_connection, tx, replaced);
            }

            long blob = SqliteBlobs.Write(_connection, tx, payload.Span);
            long id = (long)Scalar(tx,
                "INSERT INTO snapshots(network, instance, step, created, origin, compression, bytes, payload) " +
                "VALUES ($network, $instance, $step, $created, $origin, $compression, $bytes, $payload) RETURNING id",
                ("$network", snapshot.Network), ("$instance", snapshot.Instance), ("$step", snapshot.Step),
                ("$created", snapshot.Created.ToString("O", CultureInfo.InvariantCulture)), ("$origin", (int)snapshot.Origin),
                ("$compression", snapshot.Compression), ("$bytes", (long)payload.Length), ("$payload", blob))!;
            return snapshot with { Id = id, Bytes = payload.Length };
        }, cancellationToken);

    public Task<IReadOnlyList<SnapshotRecord>> ListSnapshotsAsync(string network, CancellationToken cancellationToken = default) =>
        LockedAsync<IReadOnlyList<SnapshotRecord>>(() => Snapshots("network = $name", ("$name", network)), cancellationToken);

    public Task<SnapshotRecord?> FindSnapshotAsync(string network, long id, CancellationToken cancellationToken = default) =>
        LockedAsync(() => Snapshots("network = $name AND id = $id", ("$name", network), ("$id", id)).FirstOrDefault(), cancellationToken);

    public Task<byte[]> ReadSnapshotAsync(long id, CancellationToken cancellationToken = default) =>
        LockedAsync(() => Scalar(null, "SELECT payload FROM snapshots WHERE id = $id", ("$id", id)) is long blob
            ? SqliteBlobs.Read(_connection, blob, $"snapshot {id}")
            : throw new StoreCorruptException($"snapshot {id} is not stored"), cancellationToken);

    public Task<bool> DeleteSnapshotAsync(string network, long id, CancellationToken cancellationToken = default) =>
        InTransactionAsync(tx =>
        {
            if (Scalar(tx, "SELECT payload FROM snapshots WHERE network = $name AND id = $id", ("$name", network), ("$id", id)) is not long blob)
            {
                return false;
            }

            Run(tx, "DELETE FROM snapshots WHERE id = $id", ("$id", id));
            SqliteBlobs.Delete(_connection, tx, [blob]);
            return true;
        }, cancellationToken);

    public void Dispose()
    {
        _gate.Wait();
        _connection.Dispose();
        _lock.Dispose();
        _gate.Dispose();
    }

    private List<SnapshotRecord> Snapshots(string where, params (string Name, object? Value)[] parameters)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT id, network, instance, step, created, bytes, origin, compression FROM snapshots WHERE " + where + " ORDER BY id";
        Bind(command, parameters);
        using var reader = command.ExecuteReader();
        var list = new List<SnapshotRecord>();
        while (reader.Read())
        {
            list.Add(new SnapshotRecord(reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetInt32(2),
                reader.GetInt64(3), DateTimeOffset.Parse(reader.GetString(4), CultureInfo.InvariantCulture), reader.GetInt64(5),
                (SnapshotOrigin)reader.GetInt32(6), reader.GetString(7)));
        }

        return list;
    }

    private void CheckSchemaVersion()
    {
        var stored = Scalar(null, "SELECT value FROM meta WHERE key = 'schema'");
        if (stored is null)
        {
            Execute($"INSERT INTO meta(key, value) VALUES ('schema', '{SchemaVersion}')");
        }
        else if (!string.Equals((string)stored, SchemaVersion.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{Location} has schema version {stored}; this server reads version {SchemaVersion}");
        }
    }

    private async Task<T> LockedAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return work();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs <paramref name="work"/> in a transaction, committed (synced) before this returns.</summary>
    private Task<T> InTransactionAsync<T>(Func<SqliteTransaction, T> work, CancellationToken cancellationToken) =>
        LockedAsync(() =>
        {
            using var tx = _connection.BeginTransaction();
            var result = work(tx);
            tx.Commit();
            return result;
        }, cancellationToken);

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private void Run(SqliteTransaction tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        Bind(command, parameters);
        command.ExecuteNonQuery();
    }

    private object? Scalar(SqliteTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        Bind(command, parameters);
        var value = command.ExecuteScalar();
        return value is DBNull ? null : value;
    }

    private List<long> Column(SqliteTransaction tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        Bind(command, parameters);
        using var reader = command.ExecuteReader();
        var values = new List<long>();
        while (reader.Read())
        {
            values.Add(reader.GetInt64(0));
        }

        return values;
    }

    private static void Bind(SqliteCommand command, (string Name, object? Value)[] parameters)
    {
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
    }

    private static string Now() => DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
}
