using Grpc.Core;
using Snn.Protos.V1;
using Snn.Server.Security;
using Snn.Server.Storage;

namespace Snn.Server.Services;

/// <summary>The snapshot RPCs: SaveSnapshot, ListSnapshots, RestoreSnapshot, DeleteSnapshot and ForkNetwork.</summary>
internal sealed partial class SnnService
{
    public override async Task<Snapshot> SaveSnapshot(SaveSnapshotRequest request, ServerCallContext context)
    {
        var network = Find(context, request.Network, "network");
        int? instance = request.HasInstance ? CheckInstance(network, request.Instance, "instance") : null;
        return ToProto(await durability.SaveSnapshotAsync(network, instance, Storage.SnapshotOrigin.Manual, context.CancellationToken), context);
    }

    public override async Task<ListSnapshotsResponse> ListSnapshots(ListSnapshotsRequest request, ServerCallContext context)
    {
        var network = Find(context, request.Network, "network");
        var response = new ListSnapshotsResponse();
        foreach (var snapshot in await durability.Store.ListSnapshotsAsync(network.Name, context.CancellationToken))
        {
            response.Snapshots.Add(ToProto(snapshot, context));
        }

        return response;
    }

    public override async Task<RestoreSnapshotResponse> RestoreSnapshot(RestoreSnapshotRequest request, ServerCallContext context)
    {
        var network = Find(context, request.Network, "network");
        var snapshot = await durability.FindSnapshotAsync(network.Name, (long)request.Snapshot, context.CancellationToken);
        var state = await durability.ReadSnapshotAsync(snapshot, context.CancellationToken);
        await durability.RestoreAsync(network, state, context.CancellationToken);
        return new RestoreSnapshotResponse { Snapshot = ToProto(snapshot, context) };
    }

    public override async Task<DeleteSnapshotResponse> DeleteSnapshot(DeleteSnapshotRequest request, ServerCallContext context)
    {
        var network = Find(context, request.Network, "network");
        if (!await durability.Store.DeleteSnapshotAsync(network.Name, (long)request.Snapshot, context.CancellationToken))
        {
            throw Engine.EngineException.NotFound($"network '{network.Name}' has no snapshot {request.Snapshot}; ListSnapshots shows its snapshots");
        }

        return new DeleteSnapshotResponse();
    }

    public override async Task<Protos.V1.Network> ForkNetwork(ForkNetworkRequest request, ServerCallContext context)
    {
        var network = Find(context, request.Network, "network");
        Engine.NetworkBuilder.CheckName(request.Name, "name");
        var snapshot = await durability.FindSnapshotAsync(network.Name, (long)request.Snapshot, context.CancellationToken);
        string tenant = TenantScope.Tenant(context);
        var fork = await durability.ForkAsync(network, snapshot, TenantScope.Qualify(tenant, request.Name),
            (definition, ct) => quotas.CreateAsync(tenant, definition, ct), context.CancellationToken);
        return ToProto(fork, includeWeights: false, context);
    }

    /// <summary>A snapshot as the caller knows it: of its network, under its own name.</summary>
    private static Snapshot ToProto(SnapshotRecord record, ServerCallContext context)
    {
        var snapshot = new Snapshot
        {
            Id = (ulong)record.Id,
            Network = TenantScope.Unqualify(context, record.Network),
            Step = (ulong)record.Step,
            CreatedUnixMs = record.Created.ToUnixTimeMilliseconds(),
            Bytes = (ulong)record.Bytes,
            Origin = (Protos.V1.SnapshotOrigin)(int)record.Origin,
        };
        if (record.Instance is { } instance)
        {
            snapshot.Instance = (uint)instance;
        }

        return snapshot;
    }
}
