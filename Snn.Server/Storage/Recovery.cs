using System.Diagnostics;
using Snn.Protos.V1;
using Snn.Server.Engine;
using Snn.Server.Services;

namespace Snn.Server.Storage;

/// <summary>
/// At start, before the server listens (a hosted service starts before Kestrel): every stored network is
/// rebuilt from its definition (charged against the memory budget before anything is allocated, as
/// CreateNetwork is) and given the state of its latest snapshots, or fresh state if it has none. A
/// network whose data is damaged or refused is logged, reported and left out; the rest are served.
/// </summary>
internal sealed partial class Recovery(StepLoop loop, Durability durability, ILogger<Recovery> logger) : IHostedService
{
    /// <summary>What the last start restored (GetServerInfo reports it).</summary>
    public RecoveryInfo Report { get; private set; } = new();

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var report = new RecoveryInfo();
        var store = durability.Store;
        foreach (string name in await store.ListNetworksAsync(cancellationToken))
        {
            try
            {
                int instances = await RestoreAsync(name, cancellationToken);
                report.Networks++;
                if (instances > 0)
                {
                    report.FromSnapshots++;
                    report.Instances += (ulong)instances;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                if (loop.TryGet(name, out _))
                {
                    await loop.DeleteAsync(name, CancellationToken.None);
                }

                string reason = e is EngineException or StoreCorruptException ? e.Message : $"{e.GetType().Name}: {e.Message}";
                report.Failures.Add(new RecoveryFailure { Network = name, Reason = reason });
                LogLeftOut(e, name, reason);
            }
        }

        report.Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        Report = report;
        LogRecovered(report.Networks, report.FromSnapshots, report.Instances, report.Failures.Count, report.Seconds, store.Location);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Rebuilds one network; returns the instances whose state came from a snapshot.</summary>
    private async Task<int> RestoreAsync(string name, CancellationToken cancellationToken)
    {
        var store = durability.Store;
        var spec = NetworkSpec.Parser.ParseFrom(await store.ReadNetworkAsync(name, cancellationToken)
            ?? throw new StoreCorruptException($"the definition of network '{name}' is missing"));
        if (spec.Name != name)
        {
            throw new StoreCorruptException($"the definition stored as '{name}' names network '{spec.Name}'");
        }

        // The network is charged against the memory budget before anything is allocated (as CreateNetwork
        // is); a snapshot that then fails its checksum or does not fit removes it again (the caller).
        var network = await loop.CreateAsync(SpecMapping.ToDefinition(spec), cancellationToken);
        var restored = new HashSet<int>();
        foreach (var snapshot in Latest(await store.ListSnapshotsAsync(name, cancellationToken)))
        {
            var state = await durability.ReadSnapshotAsync(snapshot, cancellationToken);
            await durability.RestoreAsync(network, state, cancellationToken);
            restored.UnionWith(state.Instances.Select(i => i.Index));
        }

        return restored.Count;
    }

    /// <summary>
    /// The snapshots that make up the latest state, oldest first: the newest one covering every instance,
    /// then any newer single-instance ones applied over it.
    /// </summary>
    internal static IReadOnlyList<SnapshotRecord> Latest(IReadOnlyList<SnapshotRecord> snapshots)
    {
        int from = 0;
        for (int i = snapshots.Count - 1; i >= 0; i--)
        {
            if (snapshots[i].Instance is null)
            {
                from = i;
                break;
            }
        }

        return snapshots.Skip(from).ToList();
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Error, Message = "network '{Network}' was not restored and is not served: {Reason}")]
    private partial void LogLeftOut(Exception exception, string network, string reason);

    [LoggerMessage(EventId = 21, Level = LogLevel.Information,
        Message = "recovery: {Networks} network(s) restored, {FromSnapshots} from snapshots ({Instances} instance(s)), {Failed} left out, in {Seconds:0.000} s from {Location}")]
    private partial void LogRecovered(uint networks, uint fromSnapshots, ulong instances, int failed, double seconds, string location);
}
