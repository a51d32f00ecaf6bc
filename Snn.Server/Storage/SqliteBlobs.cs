using System.IO.Hashing;
using Microsoft.Data.Sqlite;

namespace Snn.Server.Storage;

/// <summary>
/// Binary payloads in SQLite: a row in <c>blobs</c> (length, chunk count, XxHash64 of the whole
/// payload) and the bytes in <c>blob_chunks</c>, at most <see cref="ChunkBytes"/> per row, so no row is
/// larger than SQLite handles well and a payload of any size can be stored. Reading checks the length,
/// the chunk count and the checksum; any mismatch is a <see cref="StoreCorruptException"/>.
/// </summary>
/// <remarks>
/// <c>blob_chunks</c> is a rowid table on purpose: its b-tree is keyed by an integer, and (blob, seq) is
/// a separate small index, so finding one payload's chunks never reads another payload's bytes. (In a
/// WITHOUT ROWID table the whole row is the key, and a search reads the overflow pages of the rows it
/// passes: one damaged page of one network's data then made every network's data unreadable.)
/// </remarks>
internal static class SqliteBlobs
{
    /// <summary>Largest chunk: 1 MiB.</summary>
    public const int ChunkBytes = 1 << 20;

    public const string Schema = """
        CREATE TABLE IF NOT EXISTS blobs(
            id INTEGER PRIMARY KEY,
            length INTEGER NOT NULL,
            chunks INTEGER NOT NULL,
            checksum INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS blob_chunks(
            id INTEGER PRIMARY KEY,
            blob INTEGER NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            data BLOB NOT NULL,
            UNIQUE(blob, seq));
        """;

    /// <summary>Writes a payload inside <paramref name="transaction"/>; returns its id.</summary>
    public static long Write(SqliteConnection connection, SqliteTransaction transaction, ReadOnlySpan<byte> payload)
    {
        int chunks = (payload.Length + ChunkBytes - 1) / ChunkBytes;
        long id;
        using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO blobs(length, chunks, checksum) VALUES ($length, $chunks, $checksum) RETURNING id";
            insert.Parameters.AddWithValue("$length", payload.Length);
            insert.Parameters.AddWithValue("$chunks", chunks);
            insert.Parameters.AddWithValue("$checksum", unchecked((long)XxHash64.HashToUInt64(payload)));
            id = (long)insert.ExecuteScalar()!;
        }

        using var chunk = connection.CreateCommand();
        chunk.Transaction = transaction;
        chunk.CommandText = "INSERT INTO blob_chunks(blob, seq, data) VALUES ($blob, $seq, $data)";
        chunk.Parameters.AddWithValue("$blob", id);
        var seq = chunk.Parameters.Add("$seq", SqliteType.Integer);
        var data = chunk.Parameters.Add("$data", SqliteType.Blob);
        for (int c = 0; c < chunks; c++)
        {
            int start = c * ChunkBytes;
            seq.Value = c;
            data.Value = payload.Slice(start, Math.Min(ChunkBytes, payload.Length - start)).ToArray();
            chunk.ExecuteNonQuery();
        }

        return id;
    }

    /// <summary>Reads and checks a payload; <paramref name="what"/> names it in the error.</summary>
    public static byte[] Read(SqliteConnection connection, long id, string what)
    {
        long length;
        long chunks;
        ulong checksum;
        using (var head = connection.CreateCommand())
        {
            head.CommandText = "SELECT length, chunks, checksum FROM blobs WHERE id = $id";
            head.Parameters.AddWithValue("$id", id);
            using var reader = head.ExecuteReader();
            if (!reader.Read())
            {
                throw new StoreCorruptException($"{what}: its data (blob {id}) is missing");
            }

            length = reader.GetInt64(0);
            chunks = reader.GetInt64(1);
            checksum = unchecked((ulong)reader.GetInt64(2));
        }

        if (length is < 0 or > int.MaxValue || chunks != (length + ChunkBytes - 1) / ChunkBytes)
        {
            throw new StoreCorruptException($"{what}: its data (blob {id}) has an impossible length {length} for {chunks} chunks");
        }

        var payload = new byte[length];
        int offset = 0;
        long expected = 0;
        using (var body = connection.CreateCommand())
        {
            body.CommandText = "SELECT seq, data FROM blob_chunks WHERE blob = $id ORDER BY seq";
            body.Parameters.AddWithValue("$id", id);
            using var reader = body.ExecuteReader();
            while (reader.Read())
            {
                long seq = reader.GetInt64(0);
                var bytes = (byte[])reader.GetValue(1);
                if (seq != expected || bytes.Length > payload.Length - offset)
                {
                    throw new StoreCorruptException($"{what}: chunk {seq} of blob {id} is out of place or too long");
                }

                bytes.CopyTo(payload.AsSpan(offset));
                offset += bytes.Length;
                expected++;
            }
        }

        if (expected != chunks || offset != length)
        {
            throw new StoreCorruptException($"{what}: blob {id} has {expected} of {chunks} chunks ({offset} of {length} bytes)");
        }

        if (XxHash64.HashToUInt64(payload) != checksum)
        {
            throw new StoreCorruptException($"{what}: blob {id} fails its checksum (XxHash64); the data is damaged");
        }

        return payload;
    }

    /// <summary>Deletes payloads (their chunks go with them).</summary>
    public static void Delete(SqliteConnection connection, SqliteTransaction transaction, IEnumerable<long> ids)
    {
        using var delete = connection.CreateCommand();
        delete.Transaction = transaction;
        delete.CommandText = "DELETE FROM blobs WHERE id = $id";
        var id = delete.Parameters.Add("$id", SqliteType.Integer);
        foreach (long blob in ids)
        {
            id.Value = blob;
            delete.ExecuteNonQuery();
        }
    }
}
