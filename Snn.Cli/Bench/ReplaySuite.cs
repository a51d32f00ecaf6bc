using Grpc.Core;
using Snn.Cli.Replay;
using Snn.Client.Events;
using Snn.Protos.V1;

namespace Snn.Cli.Bench;

/// <summary>
/// (f) Event-camera replay end to end: a synthetic EVT 2.0 recording (written once in setup, 1 event
/// per µs at random pixels of a 128×128 sensor) read from disk by <see cref="EventReader"/>, mapped and
/// binned into 1 ms steps by <see cref="EventReplayer"/> — exactly what <c>snn replay</c> does — into
/// the 2×128×128 input of the camera network, LOCKSTEP as fast as the server steps. Figure: events per
/// second from the first read to the last step's output.
/// </summary>
internal sealed class ReplaySuite : BenchSuite
{
    private string _network = "";
    private string _directory = "";
    private string _file = "";
    private uint _horizon;

    public override string Name => "replay";

    public override string Describe(BenchSettings s) =>
        $"snn replay of a {s.ReplayEvents:N0}-event EVT 2.0 file (1 event/µs, random pixels of 128x128, {s.ReplayEvents / 1000:N0} steps of 1 ms) into input 2x128x128 -> one_to_one -> sinabs.IAF 2x128x128, LOCKSTEP, up to 50,000 events per RunRequest, 4 requests in flight; file read included";

    public override async Task SetupAsync(BenchContext context, CancellationToken cancellationToken)
    {
        _network = context.Prefix + "-replay";
        await DeleteQuietlyAsync(context, _network);
        await context.Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = BenchNetworks.Camera(_network) }, new CallOptions(cancellationToken: cancellationToken));
        _horizon = (await context.Client.GetServerInfoAsync(options: new CallOptions(cancellationToken: cancellationToken))).Limits.MaxInputHorizon;
        _directory = Directory.CreateTempSubdirectory("snn-bench-replay-").FullName;
        _file = Path.Combine(_directory, "synthetic.raw");
        Evt2Synthesizer.Write(_file, context.Settings.ReplayEvents, 128, 128, eventsPerMicrosecond: 1, seed: 4000);
        await context.Output.WriteLineAsync($"  wrote {new FileInfo(_file).Length:N0} bytes to {_file}");
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
        var map = new PixelMap([2, 128, 128], crop: null, downsample: 1, BenchNetworks.Input);
        var plan = new ReplayPlan(BenchNetworks.Input, map, 0.001, ReplayPacing.Lockstep, Strict: true, _horizon);
        await using var run = await context.Client.OpenRunAsync(new RunOpen { Network = _network, Reset = true }, new CallOptions(cancellationToken: cancellationToken));
        await using var file = new FileStream(_file, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        var summary = await new EventReplayer(run, plan).ReplayAsync(EventReader.Open(file), cancellationToken);
        if (summary.EventsSent != context.Settings.ReplayEvents)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"replayed {summary.EventsSent} events of {context.Settings.ReplayEvents}"));
        }

        return
        [
            new("events/s", summary.EventsPerSecond, "events/s"),
            new("seconds", summary.Seconds, "s"),
            new("steps", summary.Steps, "steps"),
            new("requests", summary.Requests, "requests"),
        ];
    }
}
