namespace Snn.Server.Storage;

/// <summary>
/// Durable storage of network definitions and state snapshots. Every method returns once its change is
/// committed (durable against a crash of the process and, with the SQLite store, of the machine), so a
/// handler that awaits it may acknowledge the change. Network names are opaque keys. Large values are
/// binary payloads that the store checks on read: a payload that fails its checksum throws
/// <see cref="StoreCorruptException"/>. <see cref="SqliteNetworkStore"/> is the embedded implementation;
/// a server-based one (PostgreSQL) can satisfy the same contract.
/// </summary>
internal interface INetworkStore : IDisposable
{
    /// <summary>Where the data lives, for the log (a file path, a connection target).</summary>
    string Location { get; }

    /// <summary>
    /// Inserts or replaces a network's definition (a serialized <c>snn.v1.NetworkSpec</c>, weights and
    /// parameters as last set). <paramref name="created"/>: the network is new, so snapshots stored under
    /// its name (of an earlier network left out at start) are deleted with the old definition.
    /// </summary>
    Task PutNetworkAsync(string name, ReadOnlyMemory<byte> spec, bool created, CancellationToken cancellationToken = default);

    /// <summary>Deletes a network's definition and all its snapshots; false when it was not stored.</summary>
    Task<bool> DeleteNetworkAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Names of the stored networks, ordered.</summary>
    Task<IReadOnlyList<string>> ListNetworksAsync(CancellationToken cancellationToken = default);

    /// <summary>A network's definition, checked; null when it is not stored.</summary>
    Task<byte[]?> ReadNetworkAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores a snapshot (its id is assigned here). When <paramref name="replaceAutomatic"/> is set, the
    /// network's earlier automatic (periodic or shutdown) snapshots are deleted in the same transaction.
    /// Null when the network is not stored (it was deleted meanwhile).
    /// </summary>
    Task<SnapshotRecord?> PutSnapshotAsync(SnapshotRecord snapshot, ReadOnlyMemory<byte> payload, bool replaceAutomatic,
        CancellationToken cancellationToken = default);

    /// <summary>A network's snapshots, oldest first.</summary>
    Task<IReadOnlyList<SnapshotRecord>> ListSnapshotsAsync(string network, CancellationToken cancellationToken = default);

    /// <summary>One snapshot's record, or null when the network has no snapshot with that id.</summary>
    Task<SnapshotRecord?> FindSnapshotAsync(string network, long id, CancellationToken cancellationToken = default);

    /// <summary>A snapshot's payload, checked.</summary>
    Task<byte[]> ReadSnapshotAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Deletes one snapshot of a network; false when the network has no snapshot with that id.</summary>
    Task<bool> DeleteSnapshotAsync(string network, long id, CancellationToken cancellationToken = default);
}

/// <summary>Why a snapshot was taken.</summary>
internal enum SnapshotOrigin
{
    /// <summary>SaveSnapshot.</summary>
    Manual = 1,

    /// <summary>The periodic snapshot (<c>Snn:Snapshots:Period</c>).</summary>
    Periodic = 2,

    /// <summary>Taken on graceful shutdown (<c>Snn:Snapshots:OnShutdown</c>).</summary>
    Shutdown = 3,
}

/// <summary>
/// A stored snapshot. <paramref name="Instance"/> is null when it covers every instance;
/// <paramref name="Step"/> is the covered instance's step (instance 0's for all);
/// <paramref name="Bytes"/> the payload's size as stored.
/// </summary>
internal sealed record SnapshotRecord(long Id, string Network, int? Instance, long Step, DateTimeOffset Created,
    long Bytes, SnapshotOrigin Origin, string Compression);

/// <summary>A stored payload failed its checksum or could not be read back: the data is damaged.</summary>
internal sealed class StoreCorruptException(string message, Exception? inner = null) : Exception(message, inner);
