using Grpc.Core;
using Snn.Cli.Replay;
using Snn.Client.Events;
using Snn.Protos.V1;

namespace Snn.Cli.Bench;

/// <summary>
/// (f) Event-camera replay end to end: synthetic EVT 2.0 recordings (written once in setup, random
/// pixels of a 128×128 sensor) read from disk by <see cref="EventReader"/>, mapped and binned into 1 ms
/// steps by <see cref="EventReplayer"/> — exactly what <c>snn replay</c> does — into the 2×128×128
/// input of the camera network, LOCKSTEP as fast as the server steps. Two event rates: 1 event/µs
/// (1,000 events per step, 10,000 steps for 10 M events) and 10 events/µs (10,000 events per step,
/// 1,000 steps): the server's cost per step weighs less in the second. Figure: events per second from
/// the first read to the last step's output.
/// </summary>
internal sealed class ReplaySuite : BenchSuite
{
    private string _network = "";
    private string _directory = "";
    private static readonly int[] EventsPerMicrosecond = [1, 10];
    private readonly string[] _files = new string[EventsPerMicrosecond.Length];
    private uint _horizon;

    public override string Name => "replay";

    public override string Describe(BenchSettings s) =>
        $"snn replay of {s.ReplayEvents:N0}-event EVT 2.0 files (random pixels of 128x128; 1 event/µs = {s.ReplayEvents / 1000:N0} steps of 1 ms, and 10 events/µs = {s.ReplayEvents / 10_000:N0} steps) into input 2x128x128 -> one_to_one -> sinabs.IAF 2x128x128, LOCKSTEP, up to 50,000 events per RunRequest, 4 requests in flight; file read included";

    public override async Task SetupAsync(BenchContext context, CancellationToken cancellationToken)
    {
        _network = context.Prefix + "-replay";
        await DeleteQuietlyAsync(context, _network);
        await context.Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = BenchNetworks.Camera(_network) }, new CallOptions(cancellationToken: cancellationToken));
        _horizon = (await context.Client.GetServerInfoAsync(options: new CallOptions(cancellationToken: cancellationToken))).Limits.MaxInputHorizon;
        _directory = Directory.CreateTempSubdirectory("snn-bench-replay-").FullName;
        for (int i = 0; i < _files.Length; i++)
        {
            _files[i] = Path.Combine(_directory, $"synthetic-{EventsPerMicrosecond[i]}-per-us.raw");
            Evt2Synthesizer.Write(_files[i], context.Settings.ReplayEvents, 128, 128, EventsPerMicrosecond[i], seed: 4000 + i);
            await context.Output.WriteLineAsync($"  wrote {new FileInfo(_files[i]).Length:N0} bytes to {_files[i]}");
        }
    }

    public override async Task CleanupAsync(BenchContext context)
    {
        await DeleteQuietlyAsync(context, _network);
        if (_directory.Length > 0)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    public override async Task<IReadOnlyList<Figure>> RunOnceAsync(BenchContext context, int repetition, CancellationToken cancellationToken)
    {
        var figures = new List<Figure>();
        for (int i = 0; i < _files.Length; i++)
        {
            var summary = await ReplayAsync(context, _files[i], cancellationToken);
            string rate = $"{EventsPerMicrosecond[i]} event(s)/µs";
            figures.Add(new($"events/s ({rate})", summary.EventsPerSecond, "events/s"));
            figures.Add(new($"seconds ({rate})", summary.Seconds, "s"));
            figures.Add(new($"steps ({rate})", summary.Steps, "steps"));
            figures.Add(new($"requests ({rate})", summary.Requests, "requests"));
        }

        return [.. figures.Where(f => f.Name.StartsWith("events/s", StringComparison.Ordinal)), .. figures.Where(f => !f.Name.StartsWith("events/s", StringComparison.Ordinal))];
    }

    private async Task<ReplaySummary> ReplayAsync(BenchContext context, string path, CancellationToken cancellationToken)
    {
        var map = new PixelMap([2, 128, 128], crop: null, downsample: 1, BenchNetworks.Input);
        var plan = new ReplayPlan(BenchNetworks.Input, map, 0.001, ReplayPacing.Lockstep, Strict: true, _horizon);
        await using var run = await context.Client.OpenRunAsync(new RunOpen { Network = _network, Reset = true }, new CallOptions(cancellationToken: cancellationToken));
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        var summary = await new EventReplayer(run, plan).ReplayAsync(EventReader.Open(file), cancellationToken);
        if (summary.EventsSent != context.Settings.ReplayEvents)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"replayed {summary.EventsSent} events of {context.Settings.ReplayEvents} from {path}"));
        }

        return summary;
    }
}
