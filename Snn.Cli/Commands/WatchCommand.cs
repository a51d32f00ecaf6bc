using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using Snn.Cli.Internal;
using Snn.Client;
using Snn.Protos.V1;

namespace Snn.Cli.Commands;

/// <summary>
/// <c>snn watch NAME</c>: prints an instance's steps as its driver (or clock) executes them, until Ctrl+C.
/// Lossless by default with the server's largest queue (<see cref="DefaultQueue"/> steps), so a burst of
/// a fast run does not cut it off while the printing keeps up on average; lines are written to a buffer
/// and flushed once per response.
/// </summary>
internal static class WatchCommand
{
    /// <summary>Steps the server may hold for this watcher (WatchRequest.queue): the largest it grants.</summary>
    public const uint DefaultQueue = 4096;

    public static Command Create(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "Network name." };
        var instance = new Option<uint>("--instance", "-n") { Description = "Instance index. Defaults to 0." };
        var lossy = new Option<bool>("--lossy") { Description = "Drop the oldest steps when this watcher falls behind (default: the server cuts it off with RESOURCE_EXHAUSTED once --queue steps wait)." };
        var queue = new Option<uint>("--queue") { Description = $"Steps the server may hold for this watcher before it is cut off (or, --lossy, loses the oldest). Defaults to {DefaultQueue}, the most the server grants.", DefaultValueFactory = _ => DefaultQueue };
        var spikesFrom = new Option<string[]>("--spikes-from") { Description = "Populations whose spikes are printed. Defaults to every non-input population.", AllowMultipleArgumentsPerToken = true };
        var statusMs = new Option<uint>("--status-ms") { Description = "Milliseconds between status lines; 0 = the server's default (1000 for REALTIME, none for LOCKSTEP)." };
        var maxSteps = new Option<ulong>("--max-steps") { Description = "Stop after this many steps; 0 = until Ctrl+C or the stream ends." };
        var plot = new Option<FileInfo>("--plot") { Description = "When the watch ends (--max-steps, the stream's end or Ctrl+C), write the steps seen as an SVG, as snn run --plot does." };
        var plotNeurons = new Option<uint>("--plot-neurons") { Description = $"Neurons per population traced by --plot, from 0. Defaults to {RunCommand.DefaultPlotNeurons}.", DefaultValueFactory = _ => RunCommand.DefaultPlotNeurons };
        var command = new Command("watch", "Watch an instance's outputs without driving it.") { name, instance, lossy, queue, spikesFrom, statusMs, maxSteps, plot, plotNeurons };
        command.SetAction((parseResult, cancellationToken) => SnnCli.Guard(context, async () =>
        {
            using var client = context.Connect(parseResult);
            var request = new WatchRequest
            {
                Network = parseResult.GetValue(name)!,
                Instance = parseResult.GetValue(instance),
                Lossy = parseResult.GetValue(lossy),
                Queue = parseResult.GetValue(queue),
                StatusIntervalMs = parseResult.GetValue(statusMs),
            };
            request.SpikesFrom.Add(parseResult.GetValue(spikesFrom) ?? []);
            var plotFile = parseResult.GetValue(plot);
            NetworkSpec? spec = null;
            List<(RecordSpec Spec, string Variable)> records = [];
            if (plotFile is not null)
            {
                var options = new CallOptions(cancellationToken: cancellationToken);
                spec = (await client.GetNetworkAsync(new GetNetworkRequest { Name = request.Network }, options)).Spec;
                records = SpikePlot.Records(spec, await client.GetServerInfoAsync(options: options), request.SpikesFrom, parseResult.GetValue(plotNeurons));
                request.Record.Add(records.Select(r => r.Spec));
            }

            SpikePlot? plotter = null;
            ulong limit = parseResult.GetValue(maxSteps);
            ulong seen = 0;
            var printer = new StepPrinter(context.Output);
            try
            {
                await WatchAsync();
            }
            catch (Exception e) when (plotter is not null && cancellationToken.IsCancellationRequested
                && e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
            {
                Plot(); // Ctrl+C ends a watch: the steps seen are still plotted
                throw;
            }

            Plot();
            return 0;

            void Plot()
            {
                if (plotter is { Steps: > 0 })
                {
                    plotter.Write(plotFile!.FullName, string.Create(CultureInfo.InvariantCulture, $"{request.Network} instance {request.Instance}: {plotter.Steps} steps watched"));
                    context.Output.WriteLine($"wrote {plotFile.FullName}");
                }
            }

            async Task WatchAsync()
            {
                // Leaving the loop (--max-steps) disposes the stream, which cancels the call.
                await foreach (var response in client.WatchAsync(request, new CallOptions(cancellationToken: cancellationToken)))
                {
                    if (response.Opened is { } opened)
                    {
                        printer.Opened(opened, "watching");
                        plotter = plotFile is null ? null : SpikePlot.For(opened, spec!, records);
                    }

                    if (response.DroppedBefore > 0)
                    {
                        printer.Dropped(response.DroppedBefore);
                    }

                    foreach (var step in response.Steps)
                    {
                        printer.Step(step);
                        plotter?.Add(step);
                        if (++seen == limit)
                        {
                            break;
                        }
                    }

                    if (response.Status is { } status)
                    {
                        printer.Status(status);
                    }

                    await context.Output.FlushAsync(cancellationToken);
                    if (limit > 0 && seen >= limit)
                    {
                        break;
                    }
                }
            }
        }, cancellationToken));
        return command;
    }
}
