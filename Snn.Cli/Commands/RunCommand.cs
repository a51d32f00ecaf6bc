using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Snn.Cli.Internal;
using Snn.Client;
using Snn.Client.Nir;
using Snn.Protos.V1;

namespace Snn.Cli.Commands;

/// <summary>
/// <c>snn run NAME</c>: drives one instance for <c>--steps</c> steps with the given inputs and prints
/// the spikes of every step. Input offsets count from the first printed step. LOCKSTEP networks
/// execute exactly those steps. A REALTIME network's clock keeps running while the command talks to
/// the server, so inputs are placed at absolute steps a little ahead of the step the run opened at
/// (<see cref="RealtimeLead"/> of wall-clock time), and the command prints from the first of them.
/// </summary>
internal static class RunCommand
{
    /// <summary>How far ahead of the open step a REALTIME run places its inputs (plus twice the open's round trip).</summary>
    public static readonly TimeSpan RealtimeLead = TimeSpan.FromMilliseconds(250);

    /// <summary>Neurons per population whose state <c>--plot</c> traces, by default.</summary>
    public const uint DefaultPlotNeurons = 8;

    public static Command Create(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "Network name." };
        var instance = new Option<uint>("--instance", "-n") { Description = "Instance index. Defaults to 0." };
        var steps = new Option<uint>("--steps", "-t") { Description = "Steps to execute (LOCKSTEP) or print (REALTIME). Defaults to 1.", DefaultValueFactory = _ => 1 };
        var inputs = new Option<string[]>("--input", "-i")
        {
            Description = "Input events, " + InputSyntax.Help + ". The offset counts from the first printed step (default 0) and must be below --steps. "
                + "Example: in:0,2=1.5@3 gives neurons 0 and 2 of 'in' 1.5 each at the fourth step. Repeatable.",
            AllowMultipleArgumentsPerToken = true,
        };
        var spikesFrom = new Option<string[]>("--spikes-from") { Description = "Populations whose spikes are printed. Defaults to every non-input population.", AllowMultipleArgumentsPerToken = true };
        var reset = new Option<bool>("--reset") { Description = "Reset the instance to step 0 first." };
        var plot = new Option<FileInfo>("--plot") { Description = "Also write an SVG: the spike raster, and the first state variable of every spike population (e.g. the membrane) as traces." };
        var plotNeurons = new Option<uint>("--plot-neurons") { Description = $"Neurons per population traced by --plot, from 0. Defaults to {DefaultPlotNeurons}.", DefaultValueFactory = _ => DefaultPlotNeurons };
        var nirData = new Option<FileInfo>("--nir-data")
        {
            Description = "Also write the run's spikes and state as NIR data (HDF5, nir.read_data reads it): per spike population its spikes as EventData "
                + "(time in seconds from the first printed step) and every state variable of its recorded neurons as TimeGriddedData.",
        };
        var nirDataNeurons = new Option<uint?>("--nir-data-neurons") { Description = "Neurons per population whose state --nir-data records, from 0. Defaults to all." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print no line per step, only a summary (with --plot or --nir-data, for long runs)." };
        var command = new Command("run", "Drive an instance: send inputs, advance, print the spikes of every step.")
        {
            name, instance, steps, inputs, spikesFrom, reset, plot, plotNeurons, nirData, nirDataNeurons, quiet,
        };
        command.SetAction((parseResult, cancellationToken) => SnnCli.Guard(context, async () =>
        {
            var texts = parseResult.GetValue(inputs) ?? [];
            var parsedInputs = texts.Select(InputSyntax.Parse).ToList();
            uint count = parseResult.GetValue(steps);
            InputSyntax.CheckOffsets(texts, parsedInputs, count);
            var network = parseResult.GetValue(name)!;
            uint index = parseResult.GetValue(instance);
            bool printSteps = !parseResult.GetValue(quiet);
            using var client = context.Connect(parseResult);
            var options = new CallOptions(cancellationToken: cancellationToken);
            var description = await client.GetNetworkAsync(new GetNetworkRequest { Name = network }, options);
            bool realtime = description.Spec.Clock == ClockMode.Realtime;
            var nirDataFile = parseResult.GetValue(nirData);
            var info = realtime || parseResult.GetValue(plot) is not null || nirDataFile is not null ? await client.GetServerInfoAsync(options: options) : null;

            var open = new RunOpen { Network = network, Instance = index, Reset = parseResult.GetValue(reset) };
            open.SpikesFrom.Add(parseResult.GetValue(spikesFrom) ?? []);
            var plotFile = parseResult.GetValue(plot);
            var records = plotFile is null ? [] : SpikePlot.Records(description.Spec, info!, open.SpikesFrom, parseResult.GetValue(plotNeurons));
            open.Record.Add(records.Select(r => r.Spec));
            if (nirDataFile is not null)
            {
                open.Record.Add(NirDataRecords(description.Spec, info!, open.SpikesFrom, parseResult.GetValue(nirDataNeurons)));
            }

            var opening = Stopwatch.StartNew();
            await using var run = await client.OpenRunAsync(open, options);
            var openRoundTrip = opening.Elapsed;
            var opened = run.Opened!;
            var printer = new StepPrinter(context.Output) { PrintedRecords = records.Count };
            printer.Opened(opened, "driving");
            var plotter = plotFile is null ? null : SpikePlot.For(opened, description.Spec, records);
            NirRunRecording? recording = null;

            ulong from = opened.Step;
            if (realtime && parsedInputs.Count > 0)
            {
                from = opened.Step + Lead(description, info!, parsedInputs, openRoundTrip);
                foreach (var input in parsedInputs)
                {
                    input.Step = from + input.Offset;
                    input.Offset = 0;
                }

                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"REALTIME: the clock is running; inputs are placed from step {from} (offset 0), {from - opened.Step} tick(s) after the open step, and the run prints from there"));
            }

            if (nirDataFile is not null)
            {
                var sizes = description.Spec.Populations.ToDictionary(p => p.Name, p => (int)p.Size, StringComparer.Ordinal);
                double dt = description.Spec.Dt > 0 ? description.Spec.Dt : 0.001;
                recording = new NirRunRecording(opened, sizes, dt, from, firstRecord: records.Count);
            }

            var request = new RunRequest { Advance = realtime ? 0 : count };
            request.Inputs.Add(parsedInputs);
            if (request.Inputs.Count > 0 || request.Advance > 0)
            {
                await run.SendAsync(request, cancellationToken);
            }

            if (!realtime)
            {
                // LOCKSTEP: half-close; the server executes the steps asked for and ends the stream.
                await run.CompleteAsync();
            }

            uint printed = 0;
            long spikes = 0;
            await Progress.RunAsync(Progress.Wanted(context, !printSteps), $"{network} steps", count, async report =>
            {
                while (printed < count && await run.ReadAsync(cancellationToken) is { } response)
                {
                    if (response.DroppedBefore > 0)
                    {
                        printer.Dropped(response.DroppedBefore);
                    }

                    foreach (var step in response.Steps)
                    {
                        if (step.Step < from)
                        {
                            continue; // REALTIME: a tick before the inputs' first step
                        }

                        if (printSteps)
                        {
                            printer.Step(step);
                        }

                        plotter?.Add(step);
                        recording?.Add(step);
                        spikes += step.Spikes.Sum(s => s.Indices.Count);
                        if (++printed == count)
                        {
                            break;
                        }
                    }

                    report(printed);
                    await context.Output.FlushAsync(cancellationToken);
                }
            });

            if (!realtime)
            {
                while (await run.ReadAsync(cancellationToken) is not null)
                {
                    // Drain to the end of the stream so its status is read.
                }
            }

            if (!printSteps)
            {
                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{printed} steps from step {from}: {spikes} spikes"));
            }

            if (plotter is not null)
            {
                plotter.Write(plotFile!.FullName, $"{network} instance {index}: steps {from}–{from + printed - 1}");
                context.Output.WriteLine($"wrote {plotFile.FullName}");
            }

            if (recording is not null)
            {
                recording.Write(nirDataFile!.FullName);
                context.Output.WriteLine($"wrote {nirDataFile.FullName}");
            }

            if (realtime && parsedInputs.Count > 0)
            {
                await WarnIfLateAsync(context, client, description, index, options);
            }

            return 0;
        }, cancellationToken));
        return command;
    }

    /// <summary>
    /// What <c>--nir-data</c> records after the plot's records: every state variable of each spike population
    /// (of a model that has any), its first <paramref name="neurons"/> neurons or all of them.
    /// </summary>
    private static IEnumerable<RecordSpec> NirDataRecords(NetworkSpec spec, ServerInfo info, IList<string> spikesFrom, uint? neurons)
    {
        var populations = spikesFrom.Count > 0
            ? spikesFrom.Select(n => spec.Populations.FirstOrDefault(p => p.Name == n)).OfType<PopulationSpec>()
            : spec.Populations.Where(p => p.Model != "input");
        foreach (var population in populations)
        {
            var variables = info.Models.FirstOrDefault(m => m.Name == population.Model)?.StateVariables;
            uint count = Math.Min(neurons ?? population.Size, population.Size);
            if (variables is null || variables.Count == 0 || count == 0)
            {
                continue;
            }

            yield return new RecordSpec { Population = population.Name, Variables = { variables }, Range = new IndexRange { Start = 0, End = count } };
        }
    }

    /// <summary>
    /// Ticks between the step the run opened at and its first input step: <see cref="RealtimeLead"/>
    /// plus twice the open's round trip, in ticks of the network's period (at least one), so the inputs
    /// reach the server before their step; within the server's input horizon.
    /// </summary>
    private static ulong Lead(Network description, ServerInfo info, List<Input> inputs, TimeSpan openRoundTrip)
    {
        double period = description.Clock is { PeriodS: > 0 } clock ? clock.PeriodS
            : (description.Spec.Dt > 0 ? description.Spec.Dt : 0.001) * (description.Spec.RealtimeFactor > 0 ? description.Spec.RealtimeFactor : 1);
        ulong lead = (ulong)Math.Max(1, Math.Ceiling((RealtimeLead + openRoundTrip * 2).TotalSeconds / period));
        ulong horizon = info.Limits?.MaxInputHorizon ?? 0;
        ulong maxOffset = inputs.Max(i => (ulong)i.Offset);
        if (horizon > 0)
        {
            if (maxOffset + 2 > horizon)
            {
                throw new CliException(string.Create(CultureInfo.InvariantCulture,
                    $"--input offset {maxOffset} is too far ahead for a REALTIME run: the server takes inputs at most {horizon - 1} steps ahead, and the run places them at least one tick ahead; use offsets below {horizon - 1}"));
            }

            lead = Math.Min(lead, horizon - 1 - maxOffset);
        }

        return lead;
    }

    /// <summary>Says on stderr when inputs reached the server after their step (they were applied at the next tick instead).</summary>
    private static async Task WarnIfLateAsync(CliContext context, SnnClient client, Network before, uint index, CallOptions options)
    {
        var after = await client.GetNetworkAsync(new GetNetworkRequest { Name = before.Spec.Name }, options);
        ulong late = After(after) - After(before);
        if (late > 0)
        {
            await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"warning: {late} input(s) reached the server after their step and were applied at the next tick (late inputs); the network or the connection is slower than the run's lead"));
        }

        ulong After(Network n) => n.Instances.FirstOrDefault(i => i.Index == index)?.LateInputs ?? 0;
    }

}
