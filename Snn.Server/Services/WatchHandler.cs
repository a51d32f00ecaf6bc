using Grpc.Core;
using Snn.Protos.V1;
using Snn.Server.Engine;

namespace Snn.Server.Services;

/// <summary>
/// Watch: streams an instance's outputs to a subscriber that does not drive it. Any number of
/// watchers per instance; each has its own bounded queue and policy (cut off, or lossy with drop
/// counts) so a slow one never holds back the instance or the others.
/// </summary>
internal sealed class WatchHandler(StepLoop loop, SnnService service)
{
    public async Task Watch(WatchRequest request, IServerStreamWriter<FrameBatch> responses, ServerCallContext context)
    {
        var network = service.Find(context, request.Network, "network");
        int instance = SnnService.CheckInstance(network, request.Instance, "instance");
        var plan = RunHandler.BuildPlan(network, request.SpikesFrom, request.Record, "watch");
        int queue = FrameSink.WatcherFrames(network, plan, request.Queue);
        var statusInterval = RunHandler.StatusInterval(network, request.StatusIntervalMs, "status_interval_ms");
        var sink = await loop.WatchAsync(network, instance, plan, request.Lossy, queue, context.CancellationToken);
        try
        {
            var opened = new RunOpened { Network = Security.TenantScope.Unqualify(context, network.Name), Instance = request.Instance, Step = (ulong)sink.FirstStep };
            opened.SpikePopulations.Add(sink.Plan.SpikePopulations.Select(i => network.Populations[i].Name));
            opened.Records.Add(request.Record);
            var batch = new FrameBatch(sink.Plan);
            await responses.WriteAsync(batch.Control(new RunResponse { Opened = opened }), context.CancellationToken);
            batch.Clear();
            await RunHandler.WriteFramesAsync(sink, batch, responses, statusInterval,
                context.CancellationToken, onFailure: null);
        }
        finally
        {
            await loop.UnwatchAsync(sink);
        }
    }
}
