using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using Snn.Cli.Replay;
using Snn.Client.Events;
using Snn.Protos.V1;

namespace Snn.Cli.Commands;

/// <summary>
/// <c>snn replay FILE --network N --population P</c>: streams an event-camera recording (Prophesee
/// EVT 2.0/3.0, N-MNIST, AEDAT 2.0/3.1; <c>-</c> = stdin) into a [C, H, W] input population, binned
/// into steps of dt, and prints a summary.
/// </summary>
internal static class ReplayCommand
{
    private static readonly string[] FormatNames = ["auto", "evt2", "evt3", "nmnist", "aedat2", "aedat3"];

    public static Command Create(CliContext context)
    {
        var file = new Argument<string>("file") { Description = "The recording, or - to read stdin (then the format must be given or come from the header)." };
        var network = new Option<string>("--network") { Description = "Network name.", Required = true };
        var population = new Option<string>("--population", "-p") { Description = "Input population of shape [2, H, W] (channel = polarity, OFF 0, ON 1) or [1, H, W] (both polarities).", Required = true };
        var instance = new Option<uint>("--instance", "-n") { Description = "Instance index. Defaults to 0." };
        var dt = new Option<double?>("--dt") { Description = "Seconds of recording per step. Defaults to the network's dt." };
        var crop = new Option<string?>("--crop") { Description = "x0,y0,w,h: keep this window of the sensor (applied before --downsample)." };
        var downsample = new Option<int>("--downsample") { Description = "Integer downsampling: pixel (x, y) goes to (x / k, y / k). Defaults to 1.", DefaultValueFactory = _ => 1 };
        var strict = new Option<bool>("--strict") { Description = "Stop at the first event outside the population (default: count and skip it)." };
        var lockstep = new Option<bool>("--lockstep") { Description = "LOCKSTEP networks: as fast as the server steps (the default)." };
        var realtime = new Option<bool>("--realtime") { Description = "Replay at the recording's speed: one step per dt of wall time (REALTIME networks always are)." };
        var format = new Option<string>("--format", "-f") { Description = "Recording format. auto reads the header; .bin files are taken as nmnist.", DefaultValueFactory = _ => "auto" };
        format.AcceptOnlyFromAmong(FormatNames);
        var layout = new Option<string>("--aedat2-layout") { Description = "AEDAT 2.0 address layout: dvs128 (default) or davis.", DefaultValueFactory = _ => "dvs128" };
        layout.AcceptOnlyFromAmong("dvs128", "davis");
        var spikesFrom = new Option<string[]>("--spikes-from") { Description = "Populations whose spikes are counted in the summary. Defaults to every non-input population.", AllowMultipleArgumentsPerToken = true };
        var reset = new Option<bool>("--reset") { Description = "Reset the instance to step 0 first." };
        var lead = new Option<double>("--lead")
        {
            Description = "REALTIME networks: milliseconds ahead of its tick that each step's events are sent (at least 2 ticks). " +
                "Longer absorbs longer stalls on the way, at that much more latency. Defaults to 20.",
            DefaultValueFactory = _ => ReplayPlan.DefaultLeadSeconds * 1000,
        };
        var command = new Command("replay", "Stream an event-camera recording (EVT 2.0/3.0, N-MNIST, AEDAT 2.0/3.1) into an input population, step by step.")
        {
            file, network, population, instance, dt, crop, downsample, strict, lockstep, realtime, format, layout, spikesFrom, reset, lead,
        };
        command.SetAction((parseResult, cancellationToken) => SnnCli.Guard(context, async () =>
        {
            if (parseResult.GetValue(lockstep) && parseResult.GetValue(realtime))
            {
                throw new CliException("--lockstep and --realtime exclude each other");
            }

            var path = parseResult.GetValue(file)!;
            var networkName = parseResult.GetValue(network)!;
            var populationName = parseResult.GetValue(population)!;
            var fileFormat = ParseFormat(parseResult.GetValue(format)!, path);
            var cropWindow = parseResult.GetValue(crop) is { } c ? Crop.Parse(c) : (Crop?)null;

            using var client = context.Connect(parseResult);
            var options = new CallOptions(cancellationToken: cancellationToken);
            var description = await client.GetNetworkAsync(new GetNetworkRequest { Name = networkName }, options);
            var target = description.Spec.Populations.FirstOrDefault(p => p.Name == populationName)
                ?? throw new CliException($"network '{networkName}' has no population '{populationName}' (it has {string.Join(", ", description.Spec.Populations.Select(p => p.Name))})");
            var map = new PixelMap(target.Shape, cropWindow, parseResult.GetValue(downsample), populationName);
            double stepSeconds = parseResult.GetValue(dt) ?? description.Spec.Dt;
            if (!(stepSeconds > 0) || !double.IsFinite(stepSeconds))
            {
                throw new CliException($"--dt {stepSeconds.ToString(CultureInfo.InvariantCulture)}: expected a positive number of seconds");
            }

            double leadMs = parseResult.GetValue(lead);
            if (!(leadMs >= 0) || !double.IsFinite(leadMs))
            {
                throw new CliException($"--lead {leadMs.ToString(CultureInfo.InvariantCulture)}: expected a number of milliseconds, 0 or more");
            }

            bool networkRealtime = description.Spec.Clock == ClockMode.Realtime;
            if (networkRealtime && parseResult.GetValue(lockstep))
            {
                throw new CliException($"network '{networkName}' is REALTIME: its clock advances it, so it cannot be replayed --lockstep");
            }

            var pacing = networkRealtime ? ReplayPacing.Realtime : parseResult.GetValue(realtime) ? ReplayPacing.PacedLockstep : ReplayPacing.Lockstep;
            var info = await client.GetServerInfoAsync(options: options);

            await using var input = OpenInput(path);
            var reader = OpenReader(input, fileFormat, parseResult.GetValue(layout) == "davis" ? Aedat2Layout.Davis : Aedat2Layout.Dvs128);
            var open = new RunOpen { Network = networkName, Instance = parseResult.GetValue(instance), Reset = parseResult.GetValue(reset) };
            open.SpikesFrom.Add(parseResult.GetValue(spikesFrom) ?? []);
            await using var run = await client.OpenRunAsync(open, options);
            var plan = new ReplayPlan(populationName, map, stepSeconds, pacing, parseResult.GetValue(strict), info.Limits.MaxInputHorizon)
            {
                WallStepSeconds = networkRealtime ? description.Spec.Dt : stepSeconds,
                LeadSeconds = leadMs / 1000,
            };
            ReplaySummary summary;
            try
            {
                summary = await new EventReplayer(run, plan).ReplayAsync(reader, cancellationToken);
            }
            catch (EventFormatException e)
            {
                throw new CliException($"{path}: {e.Message}");
            }

            var o = context.Output;
            var inv = CultureInfo.InvariantCulture;
            await o.WriteLineAsync(string.Create(inv,
                $"replayed {(path == "-" ? "stdin" : path)} ({EventFileFormats.DisplayName(reader.Format)}) into {networkName}/{populationName} [{map.Geometry}], instance {open.Instance}, {Describe(plan)}"));
            await o.WriteLineAsync(string.Create(inv,
                $"events read {summary.EventsRead:N0}, sent {summary.EventsSent:N0}, skipped {summary.Skipped:N0} (outside the population after crop/downsample), reordered {summary.Reordered:N0}"));
            await o.WriteLineAsync(string.Create(inv,
                $"steps {summary.Steps:N0} of {stepSeconds * 1000:0.###} ms, requests {summary.Requests:N0}, output spikes {summary.OutputSpikes:N0}"));
            await o.WriteLineAsync(string.Create(inv,
                $"time {summary.Seconds:0.###} s, {summary.EventsPerSecond / 1e6:0.##} M events/s"));
            return 0;
        }, cancellationToken));
        return command;
    }

    private static string Describe(ReplayPlan plan) => plan.Pacing switch
    {
        ReplayPacing.Lockstep => "LOCKSTEP",
        ReplayPacing.PacedLockstep => "LOCKSTEP paced at one step per dt",
        _ => string.Create(CultureInfo.InvariantCulture,
            $"REALTIME, each step's events sent {ReplayPlan.LeadSteps(plan.LeadSeconds, plan.WallStepSeconds!.Value)} ticks ahead"),
    };

    private static EventFileFormat ParseFormat(string name, string path) => name switch
    {
        "evt2" => EventFileFormat.Evt2,
        "evt3" => EventFileFormat.Evt3,
        "nmnist" => EventFileFormat.NMnist,
        "aedat2" => EventFileFormat.Aedat2,
        "aedat3" => EventFileFormat.Aedat3,
        _ => path != "-" && Path.GetExtension(path).Equals(".bin", StringComparison.OrdinalIgnoreCase) ? EventFileFormat.NMnist : EventFileFormat.Auto,
    };

    private static Stream OpenInput(string path)
    {
        if (path == "-")
        {
            return Console.OpenStandardInput();
        }

        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read '{path}': {e.Message}");
        }
    }

    private static EventReader OpenReader(Stream input, EventFileFormat format, Aedat2Layout layout)
    {
        try
        {
            return EventReader.Open(input, format, layout);
        }
        catch (EventFormatException e)
        {
            throw new CliException(e.Message);
        }
    }
}
