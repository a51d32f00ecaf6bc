using Google.Protobuf;
using Snn.Protos.V1;
using Snn.Server.Engine;
using Snn.Server.Services;

namespace Snn.Server.Storage;

/// <summary>
/// Makes network changes and snapshots durable: each method changes the engine and commits to the
/// store before it returns, so the caller may acknowledge. A definition is stored as the network's
/// <c>snn.v1.NetworkSpec</c> as it is now (parameters and weights as last set), so the one spec mapping
/// serves the API and the store; a snapshot as <see cref="SnapshotFormat"/> bytes.
/// </summary>
internal sealed class Durability(StepLoop loop, INetworkStore store, SnapshotOptions options, Observability.SnnMetrics metrics)
{
    /// <summary>Orders definition writes, so the last one stored is of the latest change.</summary>
    private readonly SemaphoreSlim _definitions = new(1, 1);

    public INetworkStore Store => store;

    /// <summary>
    /// Creates a network and stores its definition; if storing fails, the network is removed again.
    /// <paramref name="admit"/> may refuse the built network before it joins the loop (the tenant quotas).
    /// </summary>
    public async Task<Engine.Network> CreateAsync(NetworkDefinition definition, CancellationToken cancellationToken,
        Action<Engine.Network>? admit = null)
    {
        var network = await loop.CreateAsync(definition, cancellationToken, admit);
        try
        {
            await StoreDefinitionAsync(network, created: true, CancellationToken.None);
        }
        catch
        {
            await loop.DeleteAsync(network.Name, CancellationToken.None);
            throw;
        }

        return network;
    }

    /// <summary>Stores a network's definition as it is now (after SetParameters; <paramref name="created"/>: a new network).</summary>
    public async Task StoreDefinitionAsync(Engine.Network network, bool created, CancellationToken cancellationToken)
    {
        await _definitions.WaitAsync(cancellationToken);
        try
        {
            if (!network.Deleted)
            {
                await store.PutNetworkAsync(network.Name, Definition(network).ToByteArray(), created, cancellationToken);
            }
        }
        finally
        {
            _definitions.Release();
        }
    }

    public async Task DeleteAsync(string name, CancellationToken cancellationToken)
    {
        await loop.DeleteAsync(name, cancellationToken);
        await _definitions.WaitAsync(CancellationToken.None);
        try
        {
            await store.DeleteNetworkAsync(name, CancellationToken.None);
        }
        finally
        {
            _definitions.Release();
        }
    }

    /// <summary>A network's definition as it is now, for the store.</summary>
    public static NetworkSpec Definition(Engine.Network network) => SpecMapping.ToProto(network, includeWeights: true).Spec;

    /// <summary>Copies the state of one instance or all between two steps, then stores it.</summary>
    public async Task<SnapshotRecord> SaveSnapshotAsync(Engine.Network network, int? instance, SnapshotOrigin origin,
        CancellationToken cancellationToken)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        var state = await loop.CaptureAsync(network, instance, cancellationToken);
        var payload = SnapshotCodec.Encode(SnapshotFormat.Write(state), options.Compression);
        long step = state.Instances.Count > 0 ? state.Instances[0].Step : 0;
        var record = new SnapshotRecord(0, network.Name, instance, step, DateTimeOffset.UtcNow, payload.Length, origin, options.Compression);
        var stored = await store.PutSnapshotAsync(record, payload, replaceAutomatic: origin != SnapshotOrigin.Manual, cancellationToken)
            ?? throw EngineException.NotFound($"network '{network.Name}' does not exist");
        metrics.SnapshotDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        metrics.Snapshots.Add(1, new KeyValuePair<string, object?>("origin", origin.ToString().ToLowerInvariant()));
        metrics.SnapshotBytes.Add(payload.Length);
        return stored;
    }

    /// <summary>Puts a snapshot's state back into a live network, between two steps (every restore goes through here).</summary>
    public async Task RestoreAsync(Engine.Network network, NetworkState state, CancellationToken cancellationToken)
    {
        await loop.RestoreAsync(network, state, cancellationToken);
        metrics.Restores.Add(1);
    }

    /// <summary>A network's snapshot, or NOT_FOUND.</summary>
    public async Task<SnapshotRecord> FindSnapshotAsync(string network, long id, CancellationToken cancellationToken) =>
        await store.FindSnapshotAsync(network, id, cancellationToken)
        ?? throw EngineException.NotFound($"network '{network}' has no snapshot {id}; ListSnapshots shows its snapshots");

    /// <summary>Reads a stored snapshot back into its state.</summary>
    public async Task<NetworkState> ReadSnapshotAsync(SnapshotRecord snapshot, CancellationToken cancellationToken) =>
        SnapshotFormat.Read(SnapshotCodec.Decode(await store.ReadSnapshotAsync(snapshot.Id, cancellationToken), snapshot.Compression));

    /// <summary>
    /// Creates network <paramref name="name"/> as a copy of <paramref name="source"/>'s definition (through
    /// <paramref name="create"/>, which holds the caller to its quotas and makes it durable), gives it a
    /// snapshot's state, and stores that state as the new network's first snapshot (so a restart brings the
    /// fork back as it began).
    /// </summary>
    public async Task<Engine.Network> ForkAsync(Engine.Network source, SnapshotRecord snapshot, string name,
        Func<NetworkDefinition, CancellationToken, Task<Engine.Network>> create, CancellationToken cancellationToken)
    {
        var payload = await store.ReadSnapshotAsync(snapshot.Id, cancellationToken);
        var state = SnapshotFormat.Read(SnapshotCodec.Decode(payload, snapshot.Compression));
        var spec = Definition(source);
        spec.Name = name;
        var fork = await create(SpecMapping.ToDefinition(spec), cancellationToken);
        try
        {
            await RestoreAsync(fork, state, cancellationToken);
            await store.PutSnapshotAsync(snapshot with { Network = name, Created = DateTimeOffset.UtcNow, Origin = SnapshotOrigin.Manual },
                payload, replaceAutomatic: false, CancellationToken.None);
        }
        catch
        {
            await DeleteAsync(name, CancellationToken.None);
            throw;
        }

        return fork;
    }
}
